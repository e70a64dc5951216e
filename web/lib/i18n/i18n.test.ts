import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { CATALOGUES, catalogueKeys, format, translate } from './index';

const ROOT = path.resolve(__dirname, '..', '..');

function sources(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const p = path.join(dir, name);
    if (statSync(p).isDirectory()) return sources(p);
    return /\.tsx?$/.test(name) && !name.endsWith('.test.ts') ? [p] : [];
  });
}

describe('locale catalogues', () => {
  it('zh-CN and en have the same keys', () => {
    expect(catalogueKeys(CATALOGUES.en).sort()).toEqual(catalogueKeys(CATALOGUES['zh-CN']).sort());
  });

  it('every literal key used in the code exists', () => {
    const keys = new Set(catalogueKeys(CATALOGUES['zh-CN']));
    const used = new Set<string>();
    for (const file of ['app', 'components', 'lib'].flatMap((d) => sources(path.join(ROOT, d)))) {
      const text = readFileSync(file, 'utf8');
      for (const m of text.matchAll(/\bt\(\s*'([a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
      for (const m of text.matchAll(/label: '([a-z]+\.[a-zA-Z0-9_.]+)'/g)) used.add(m[1]);
    }
    expect(used.size).toBeGreaterThan(40);
    expect([...used].filter((k) => !keys.has(k))).toEqual([]);
  });

  it('formats variables and defaults to Chinese', () => {
    expect(format('{a} of {b}', { a: 1, b: 2 })).toBe('1 of 2');
    expect(translate('zh-CN', 'nav.worklist')).toBe('检查列表');
    expect(translate('en', 'nav.worklist')).toBe('Worklist');
    expect(translate('en', 'no.such.key')).toBe('no.such.key');
  });
});
