/**
 * The versions endpoint returns, per section, a unified diff (Python difflib, no line ends).
 * These helpers turn it into rows to show: kept, deleted and inserted lines, and within a
 * changed line the words (Latin runs) or characters (Chinese) that changed.
 */

export type Segment = { text: string; changed: boolean };
export type DiffRow =
  | { kind: 'hunk'; text: string }
  | { kind: 'same' | 'del' | 'add'; text: string; segments: Segment[] };

/** Tokens compared by the in-line diff: each Chinese character, a run of other letters/digits
 * (a word), or any other single character. */
export function tokens(text: string): string[] {
  return text.match(/\p{Script=Han}|(?:(?!\p{Script=Han})[\p{L}\p{N}_])+|[^\p{L}\p{N}_]/gu) ?? [];
}

// Beyond this many token pairs the whole line is marked changed (the LCS table is n×m).
const MAX_CELLS = 250_000;

/** Which tokens of `a` and of `b` are outside their longest common subsequence. */
export function tokenDiff(a: string[], b: string[]): { a: boolean[]; b: boolean[] } {
  if (a.length * b.length > MAX_CELLS) return { a: a.map(() => true), b: b.map(() => true) };
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i][j] = a[i] === b[j] ? lcs[i + 1][j + 1] + 1 : Math.max(lcs[i + 1][j], lcs[i][j + 1]);
    }
  }
  const changedA = a.map(() => true);
  const changedB = b.map(() => true);
  let i = 0;
  let j = 0;
  while (i < a.length && j < b.length) {
    if (a[i] === b[j]) {
      changedA[i++] = false;
      changedB[j++] = false;
    } else if (lcs[i + 1][j] >= lcs[i][j + 1]) i++;
    else j++;
  }
  return { a: changedA, b: changedB };
}

/** Adjacent tokens with the same flag joined into one segment. */
export function segmentsOf(toks: string[], changed: boolean[]): Segment[] {
  const out: Segment[] = [];
  toks.forEach((text, k) => {
    const last = out[out.length - 1];
    if (last && last.changed === changed[k]) last.text += text;
    else out.push({ text, changed: changed[k] });
  });
  return out;
}

const whole = (text: string, changed: boolean): Segment[] => (text ? [{ text, changed }] : []);

/** Unified diff lines → rows; a run of deletions followed by insertions is paired line by line. */
export function diffRows(lines: string[]): DiffRow[] {
  // difflib puts the two file headers first; a content line can itself start with "---".
  const body = lines[0]?.startsWith('---') && lines[1]?.startsWith('+++') ? lines.slice(2) : lines;
  const rows: DiffRow[] = [];
  let k = 0;
  while (k < body.length) {
    const line = body[k];
    if (line.startsWith('@@')) {
      rows.push({ kind: 'hunk', text: line });
      k++;
    } else if (line.startsWith('-') || line.startsWith('+')) {
      const dels: string[] = [];
      const adds: string[] = [];
      while (k < body.length && body[k].startsWith('-')) dels.push(body[k++].slice(1));
      while (k < body.length && body[k].startsWith('+')) adds.push(body[k++].slice(1));
      rows.push(...pairRows(dels, adds));
    } else {
      const text = line.slice(1);
      rows.push({ kind: 'same', text, segments: whole(text, false) });
      k++;
    }
  }
  return rows;
}

function pairRows(dels: string[], adds: string[]): DiffRow[] {
  const delRows: DiffRow[] = [];
  const addRows: DiffRow[] = [];
  for (let n = 0; n < Math.max(dels.length, adds.length); n++) {
    const before = dels[n];
    const after = adds[n];
    if (before !== undefined && after !== undefined) {
      const ta = tokens(before);
      const tb = tokens(after);
      const d = tokenDiff(ta, tb);
      delRows.push({ kind: 'del', text: before, segments: segmentsOf(ta, d.a) });
      addRows.push({ kind: 'add', text: after, segments: segmentsOf(tb, d.b) });
    } else if (before !== undefined) {
      delRows.push({ kind: 'del', text: before, segments: whole(before, true) });
    } else if (after !== undefined) {
      addRows.push({ kind: 'add', text: after, segments: whole(after, true) });
    }
  }
  return [...delRows, ...addRows];
}

/** Sections in reading order, with the diff's extra "addenda" last. */
export const DIFF_SECTIONS = ['findings', 'impression', 'recommendation', 'addenda'] as const;
