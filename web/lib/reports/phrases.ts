/**
 * Phrase shortcuts (常用语) in a report section: `;nml` then Tab or Space becomes the phrase.
 * Pure text logic; the editor applies the result through its autosave path.
 */

/** What expansion needs of a phrase (GET /api/report-phrases items have more). */
export interface PhraseLike {
  shortcut: string;
  text: string;
  shared: boolean;
}

export interface Edit {
  text: string;
  /** Where the caret goes: after the inserted text. */
  caret: number;
}

const WORD = /[A-Za-z0-9_]/;
const MAX_SHORTCUT = 16;

/** The `;word` that ends at the caret: where the `;` is and the word (lower case), or null. */
export function shortcutBefore(text: string, caret: number): { start: number; word: string } | null {
  let i = caret;
  while (i > 0 && caret - i < MAX_SHORTCUT && WORD.test(text[i - 1])) i -= 1;
  if (i === caret || i === 0 || text[i - 1] !== ';') return null;
  return { start: i - 1, word: text.slice(i, caret).toLowerCase() };
}

/** The phrase a shortcut names; the user's own wins over a shared one. */
export function findPhrase<P extends PhraseLike>(phrases: readonly P[], word: string): P | undefined {
  const key = word.toLowerCase();
  const matching = phrases.filter((p) => p.shortcut === key);
  return matching.find((p) => !p.shared) ?? matching[0];
}

/** Replace `text[start, end)` by `insert`. */
export function insertAt(text: string, start: number, end: number, insert: string): Edit {
  return { text: text.slice(0, start) + insert + text.slice(end), caret: start + insert.length };
}

/** The text with the `;word` before the caret expanded, or null when it names no phrase. */
export function expandShortcut(text: string, caret: number, phrases: readonly PhraseLike[]): Edit | null {
  const found = shortcutBefore(text, caret);
  if (!found) return null;
  const phrase = findPhrase(phrases, found.word);
  return phrase ? insertAt(text, found.start, caret, phrase.text) : null;
}

/** Keys that expand a shortcut (the key itself is then not typed). */
export function isExpandKey(key: string): boolean {
  return key === 'Tab' || key === ' ';
}
