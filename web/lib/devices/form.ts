/**
 * The device form: its fields, the checks the browser can make before sending (the server
 * repeats them: PS3.5 AE VR, port range, refused hosts), and how a server refusal maps back
 * onto a field.
 */
import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];
export type Device = Schemas['DeviceRead'];
export type DeviceCreate = Schemas['DeviceCreate'];
export type DeviceUpdate = Schemas['DeviceUpdate'];
export type EchoResult = Schemas['EchoResult'];
export type DimseJob = Schemas['JobRead'];
export type Operation = Device['operations'][number];

export const OPERATIONS: Operation[] = ['store', 'find', 'move', 'get'];

export interface DeviceForm {
  ae_title: string;
  host: string;
  port: string;
  modality: string;
  department: string;
  description: string;
  operations: Operation[];
  enabled: boolean;
  tls: boolean;
}

export type DeviceField = keyof DeviceForm;
/** Field -> i18n key of the problem (under `devices.invalid.`). */
export type FormErrors = Partial<Record<DeviceField, string>>;

export const EMPTY_FORM: DeviceForm = {
  ae_title: '',
  host: '',
  port: '104',
  modality: '',
  department: '',
  description: '',
  operations: ['store'],
  enabled: true,
  tls: false,
};

export function formOf(d: Device): DeviceForm {
  return {
    ae_title: d.ae_title,
    host: d.host,
    port: String(d.port),
    modality: d.modality,
    department: d.department,
    description: d.description,
    operations: [...d.operations],
    enabled: d.enabled,
    tls: d.tls,
  };
}

// PS3.5 AE VR: 1-16 characters of the default repertoire, no backslash, no control characters.
const AE_CHARS = /^[\x20-\x5b\x5d-\x7e]+$/;
const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;
const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

function hostProblem(raw: string): string | null {
  const host = raw.trim().replace(/^\[(.*)\]$/, '$1');
  if (!host) return 'required';
  const v4 = IPV4.exec(host);
  if (v4) {
    const parts = v4.slice(1).map(Number);
    if (parts.some((p) => p > 255)) return 'host';
    // Link-local (incl. the cloud metadata address 169.254.169.254), unspecified, multicast.
    if ((parts[0] === 169 && parts[1] === 254) || parts[0] === 0 || (parts[0] >= 224 && parts[0] <= 239)) {
      return 'hostRefused';
    }
    return null;
  }
  if (host.includes(':')) {
    const lower = host.toLowerCase();
    if (lower === '::' || lower.startsWith('fe8') || lower.startsWith('fe9') || lower.startsWith('fea') || lower.startsWith('feb') || lower.startsWith('ff')) {
      return 'hostRefused';
    }
    return /^[0-9a-f:.]+$/i.test(host) ? null : 'host';
  }
  if (!HOSTNAME.test(host)) return 'host';
  if (['metadata', 'metadata.google.internal', 'metadata.azure.internal'].includes(host.toLowerCase().replace(/\.$/, ''))) {
    return 'hostRefused';
  }
  return null;
}

/** Problems the browser can see before sending; empty when the form may be sent. */
export function validateDevice(f: DeviceForm): FormErrors {
  const errors: FormErrors = {};
  const ae = f.ae_title.trim();
  if (!ae) errors.ae_title = 'required';
  else if (ae.length > 16) errors.ae_title = 'aeTooLong';
  else if (ae.includes('\\')) errors.ae_title = 'aeBackslash';
  else if (!AE_CHARS.test(ae)) errors.ae_title = 'aeChars';
  const host = hostProblem(f.host);
  if (host) errors.host = host;
  const port = f.port.trim();
  if (!port) errors.port = 'required';
  else if (!/^\d+$/.test(port) || Number(port) < 1 || Number(port) > 65535) errors.port = 'port';
  if (f.modality.length > 16) errors.modality = 'tooLong';
  if (f.department.length > 64) errors.department = 'tooLong';
  if (f.description.length > 255) errors.description = 'tooLong';
  return errors;
}

/** The JSON body for POST /api/devices (or PATCH: every field is sent). */
export function deviceBody(f: DeviceForm): DeviceCreate {
  return {
    ae_title: f.ae_title.trim(),
    host: f.host.trim(),
    port: Number(f.port.trim()),
    modality: f.modality.trim(),
    department: f.department.trim(),
    description: f.description.trim(),
    operations: OPERATIONS.filter((o) => f.operations.includes(o)),
    enabled: f.enabled,
    tls: f.tls,
  };
}

interface ValidationDetail {
  errors?: { loc?: unknown[]; msg?: string }[];
}

/**
 * A server refusal as field problems: 409 duplicate_ae_title -> the AE title; 422
 * validation_error -> each field named in `details.errors[].loc` (a refused host, e.g.
 * 169.254.169.254, reads `hostRefused`). Empty when the error names no field.
 */
export function serverFieldErrors(code: string, details: unknown): FormErrors {
  if (code === 'duplicate_ae_title') return { ae_title: 'duplicate' };
  if (code !== 'validation_error' || typeof details !== 'object' || details === null) return {};
  const out: FormErrors = {};
  for (const e of (details as ValidationDetail).errors ?? []) {
    const field = e.loc?.[0] === 'body' ? e.loc?.[1] : undefined;
    if (typeof field !== 'string' || !(field in EMPTY_FORM)) continue;
    const key = field as DeviceField;
    if (key === 'host') out.host = /refused/i.test(e.msg ?? '') ? 'hostRefused' : 'host';
    else if (key === 'ae_title') out.ae_title = 'aeChars';
    else if (key === 'port') out.port = 'port';
    else out[key] = 'invalid';
  }
  return out;
}

/** Devices a study may be sent to: enabled and allowed to store. */
export function sendTargets(devices: Device[]): Device[] {
  return devices.filter((d) => d.enabled && d.operations.includes('store'));
}

export function jobDone(job: DimseJob | undefined): boolean {
  return !!job && (job.status === 'completed' || job.status === 'partial' || job.status === 'failed');
}
