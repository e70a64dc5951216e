/**
 * 居民身份证号 (GB 11643-1999): 17 digits and an ISO 7064 MOD 11-2 check character (0-9 or X).
 * Digits 7-14 are the birth date (YYYYMMDD), digit 17 is odd for men and even for women.
 * The server checks the same; the browser checks first so the form can say so at once.
 */
const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = '10X98765432';

export function checkCharacter(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i += 1) sum += Number(first17[i]) * WEIGHTS[i];
  return CHECK[sum % 11];
}

/** A real calendar date, YYYY-MM-DD, or null. */
function calendarDate(y: number, m: number, d: number): string | null {
  const date = new Date(Date.UTC(y, m - 1, d));
  if (date.getUTCFullYear() !== y || date.getUTCMonth() !== m - 1 || date.getUTCDate() !== d) return null;
  return `${String(y).padStart(4, '0')}-${String(m).padStart(2, '0')}-${String(d).padStart(2, '0')}`;
}

export type NationalIdProblem = 'format' | 'birthDate' | 'checkDigit';

/** Null when the number is valid (an 18-character ID; a lower-case x is accepted). */
export function nationalIdProblem(raw: string): NationalIdProblem | null {
  const id = raw.trim().toUpperCase();
  if (!/^\d{17}[\dX]$/.test(id)) return 'format';
  if (!birthDateOfId(id)) return 'birthDate';
  return checkCharacter(id.slice(0, 17)) === id[17] ? null : 'checkDigit';
}

/** The birth date encoded in an ID (YYYY-MM-DD), or null when it is not a real date. */
export function birthDateOfId(raw: string): string | null {
  const id = raw.trim();
  if (!/^\d{17}[\dXx]$/.test(id)) return null;
  const date = calendarDate(Number(id.slice(6, 10)), Number(id.slice(10, 12)), Number(id.slice(12, 14)));
  if (!date || Number(id.slice(6, 10)) < 1900) return null;
  return date;
}

/** Sex encoded in an ID: the 17th digit, odd for men. */
export function sexOfId(raw: string): 'M' | 'F' | null {
  const id = raw.trim();
  if (!/^\d{17}[\dXx]$/.test(id)) return null;
  return Number(id[16]) % 2 === 1 ? 'M' : 'F';
}
