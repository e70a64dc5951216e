import type { TFunction } from '@/lib/i18n';

/** The times of a critical result that the inbox computes with. */
export interface CriticalTimes {
  flagged_at: string;
  acknowledged_at?: string | null;
}

/** Milliseconds from flagging to acknowledgement; null while still open (or on a bad date). */
export function timeToAcknowledge(item: CriticalTimes): number | null {
  if (!item.acknowledged_at) return null;
  const ms = Date.parse(item.acknowledged_at) - Date.parse(item.flagged_at);
  return Number.isFinite(ms) ? Math.max(0, ms) : null;
}

/** How long an open result has waited so far (now − flagged). */
export function waitingFor(item: CriticalTimes, now: number): number {
  const ms = now - Date.parse(item.flagged_at);
  return Number.isFinite(ms) ? Math.max(0, ms) : 0;
}

export function median(values: number[]): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
}

export interface AckSummary {
  /** How many of the listed ones were acknowledged (and so have a time). */
  acknowledged: number;
  medianMs: number | null;
  maxMs: number | null;
}

/** Median and longest time to acknowledge over the listed results that have one. */
export function ackSummary(items: CriticalTimes[]): AckSummary {
  const times = items.map(timeToAcknowledge).filter((ms): ms is number => ms !== null);
  return {
    acknowledged: times.length,
    medianMs: median(times),
    maxMs: times.length ? Math.max(...times) : null,
  };
}

/** "1小时 5分 3秒" / "1 h 5 min 3 s": the largest units only (seconds dropped past an hour). */
export function formatDuration(ms: number | null, t: TFunction): string {
  if (ms === null) return '—';
  const total = Math.round(ms / 1000);
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const parts: string[] = [];
  if (h) parts.push(t('critical.units.h', { n: h }));
  if (m || h) parts.push(t('critical.units.m', { n: m }));
  if (!h) parts.push(t('critical.units.s', { n: s }));
  return parts.join(' ');
}
