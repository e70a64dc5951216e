/** Local-calendar dates as YYYY-MM-DD (the worklist filters by the reading room's calendar). */
export function isoDate(d: Date): string {
  const y = d.getFullYear();
  const m = String(d.getMonth() + 1).padStart(2, '0');
  const day = String(d.getDate()).padStart(2, '0');
  return `${y}-${m}-${day}`;
}

export type QuickRange = 'today' | '3days' | 'week';

/** Quick picks: today; the last 3 days; the last 7 days — both ends inclusive. */
export function quickRange(kind: QuickRange, now: Date = new Date()): { from: string; to: string } {
  const days = kind === 'today' ? 0 : kind === '3days' ? 2 : 6;
  const from = new Date(now.getFullYear(), now.getMonth(), now.getDate() - days);
  return { from: isoDate(from), to: isoDate(now) };
}

/** Age in whole years (DICOM style "045Y") from YYYY-MM-DD dates; null when unknown. */
export function ageAt(birth: string | null | undefined, at: string | null | undefined): string | null {
  if (!birth) return null;
  const b = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(birth);
  const ref = at ? /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(at) : null;
  if (!b) return null;
  const now = ref ? ref.slice(1).map(Number) : [new Date().getFullYear(), new Date().getMonth() + 1, new Date().getDate()];
  const [by, bm, bd] = b.slice(1).map(Number);
  const [ny, nm, nd] = now;
  let years = ny - by;
  if (nm < bm || (nm === bm && nd < bd)) years -= 1;
  if (years < 0) return null;
  if (years === 0) {
    let months = (ny - by) * 12 + (nm - bm);
    if (nd < bd) months -= 1;
    return `${String(Math.max(0, months)).padStart(3, '0')}M`;
  }
  return `${String(years).padStart(3, '0')}Y`;
}

/** "20240131" or "2024-01-31" → "2024-01-31"; anything else unchanged. */
export function displayDate(value: string | null | undefined): string {
  if (!value) return '';
  const m = /^(\d{4})-?(\d{2})-?(\d{2})$/.exec(value);
  return m ? `${m[1]}-${m[2]}-${m[3]}` : value;
}

/** An ISO instant as local "YYYY-MM-DD HH:mm" (the same in both languages); '' when absent. */
export function displayDateTime(value: string | null | undefined): string {
  if (!value) return '';
  const d = new Date(value);
  if (Number.isNaN(d.getTime())) return value;
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}`;
}
