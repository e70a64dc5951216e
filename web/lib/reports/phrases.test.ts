import { describe, expect, it } from 'vitest';
import { expandShortcut, findPhrase, insertAt, isExpandKey, shortcutBefore } from './phrases';

const shared = { shortcut: 'nml', text: '未见明显异常。', shared: true };
const mine = { shortcut: 'nml', text: '王医生的正常描述', shared: false };
const lung = { shortcut: 'lung', text: '双肺纹理清晰。', shared: true };

describe('shortcutBefore', () => {
  it('finds the ;word that ends at the caret', () => {
    expect(shortcutBefore('所见：;nml', 7)).toEqual({ start: 3, word: 'nml' });
    expect(shortcutBefore(';NmL', 4)).toEqual({ start: 0, word: 'nml' });
    expect(shortcutBefore('a ;fu_2 rest', 7)).toEqual({ start: 2, word: 'fu_2' });
  });

  it('needs a semicolon, a word and the caret at its end', () => {
    expect(shortcutBefore('nml', 3)).toBeNull();
    expect(shortcutBefore(';', 1)).toBeNull();
    expect(shortcutBefore(';nml x', 6)).toBeNull();
    expect(shortcutBefore('；nml', 4)).toBeNull(); // the full-width semicolon is text
    expect(shortcutBefore(';' + 'a'.repeat(17), 18)).toBeNull(); // longer than a shortcut
    expect(shortcutBefore(';nml', 2)).toEqual({ start: 0, word: 'n' });
  });
});

describe('findPhrase', () => {
  it('prefers the personal phrase over the shared one', () => {
    expect(findPhrase([shared, mine, lung], 'nml')).toBe(mine);
    expect(findPhrase([shared, lung], 'NML')).toBe(shared);
    expect(findPhrase([shared], 'none')).toBeUndefined();
  });
});

describe('expandShortcut', () => {
  it('replaces the shortcut by the text and puts the caret after it', () => {
    const text = '检查所见：;lung其余';
    const edit = expandShortcut(text, 10, [shared, lung]);
    expect(edit).toEqual({ text: '检查所见：双肺纹理清晰。其余', caret: 12 });
  });

  it('leaves unknown shortcuts alone', () => {
    expect(expandShortcut(';xyz', 4, [shared])).toBeNull();
    expect(expandShortcut('plain', 5, [shared])).toBeNull();
  });

  it('expands at the start and keeps line breaks around it', () => {
    expect(expandShortcut('第一行\n;nml', 8, [shared])?.text).toBe('第一行\n未见明显异常。');
  });
});

describe('insertAt and keys', () => {
  it('inserts at the cursor or over the selection', () => {
    expect(insertAt('ab', 1, 1, 'X')).toEqual({ text: 'aXb', caret: 2 });
    expect(insertAt('abcd', 1, 3, 'X')).toEqual({ text: 'aXd', caret: 2 });
  });

  it('expands on Tab and Space only', () => {
    expect(isExpandKey('Tab')).toBe(true);
    expect(isExpandKey(' ')).toBe(true);
    expect(isExpandKey('Enter')).toBe(false);
  });
});
