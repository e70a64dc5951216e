/** Bytes in binary units with one decimal (1536 → "1.5 KiB"); units are the same in both languages. */
export function formatBytes(bytes: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB', 'PiB'];
  let value = bytes;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return unit === 0 ? `${value} B` : `${value.toFixed(1)} ${units[unit]}`;
}

/** Share of the disk in use, 0–100, rounded to one decimal. */
export function usedPercent(used: number, total: number): number {
  return total > 0 ? Math.round((used / total) * 1000) / 10 : 0;
}

/**
 * The password policy's problems come in English (the server's detail list); each is known
 * by a phrase and shown as the key of its translated sentence, with its number if any.
 */
export function passwordProblemKeys(problems: readonly string[]): { key: string; n?: number }[] {
  return problems.map((p) => {
    const min = /at least (\d+)/.exec(p);
    if (min) return { key: 'admin.password.tooShort', n: Number(min[1]) };
    if (/common/.test(p)) return { key: 'admin.password.common' };
    if (/username/.test(p)) return { key: 'admin.password.hasUsername' };
    if (/repeat/.test(p)) return { key: 'admin.password.repetitive' };
    return { key: 'admin.password.rejected' };
  });
}

/** Audit query parameters from the filter form: empty fields left out, local times as ISO. */
export interface AuditFilters {
  actor: string;
  patient_id: string;
  action: string;
  outcome: string;
  since: string;
  until: string;
}

export const EMPTY_AUDIT_FILTERS: AuditFilters = {
  actor: '',
  patient_id: '',
  action: '',
  outcome: '',
  since: '',
  until: '',
};

/** Query parameters of a filter form: the text fields trimmed, empty ones left out, and
 * since/until (local times from <input type="datetime-local">, no zone) sent as UTC. */
function filterParams<K extends string>(f: Record<K | 'since' | 'until', string>, textKeys: readonly K[]): Record<string, string> {
  const params: Record<string, string> = {};
  for (const key of textKeys) {
    const v = f[key].trim();
    if (v) params[key] = v;
  }
  for (const key of ['since', 'until'] as const) {
    if (f[key]) {
      const d = new Date(f[key]);
      if (!Number.isNaN(d.getTime())) params[key] = d.toISOString();
    }
  }
  return params;
}

export function auditParams(f: AuditFilters): Record<string, string> {
  return filterParams(f, ['actor', 'patient_id', 'action', 'outcome']);
}

/** An ISO instant as local "YYYY-MM-DD HH:mm:ss" (the same in both languages); '' when absent. */
export function formatDateTime(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** HL7 review query parameters from the filter form: empty fields left out, local times as ISO. */
export interface Hl7Filters {
  ack_code: string;
  message_type: string;
  sending_application: string;
  control_id: string;
  since: string;
  until: string;
}

export const EMPTY_HL7_FILTERS: Hl7Filters = {
  ack_code: '',
  message_type: '',
  sending_application: '',
  control_id: '',
  since: '',
  until: '',
};

export function hl7Params(f: Hl7Filters): Record<string, string> {
  return filterParams(f, ['ack_code', 'message_type', 'sending_application', 'control_id']);
}
