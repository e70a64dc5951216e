import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { ackSummary, formatDuration, median, timeToAcknowledge, waitingFor } from './critical';
import { diffRows, tokenDiff, tokens } from './diff';
import { scoreBody, scoreLabel, scoreProblem, scoreRows } from './peerReview';

const zh = (key: string, vars?: Record<string, string | number>) => translate('zh-CN', key, vars);
const en = (key: string, vars?: Record<string, string | number>) => translate('en', key, vars);

describe('version diff', () => {
  it('splits Chinese into characters and English into words', () => {
    expect(tokens('右肺 nodule, 8mm')).toEqual(['右', '肺', ' ', 'nodule', ',', ' ', '8mm']);
    expect(tokens('')).toEqual([]);
  });

  it('pairs a deleted and an inserted line and marks only the changed word', () => {
    const rows = diffRows(['--- v5', '+++ v6', '@@ -1 +1 @@', '-右肺上叶磨玻璃结节，约6mm。', '+左肺上叶磨玻璃结节，约6mm。']);
    expect(rows.map((r) => r.kind)).toEqual(['hunk', 'del', 'add']);
    const [, del, add] = rows;
    if (del.kind === 'hunk' || add.kind === 'hunk') throw new Error('rows');
    expect(del.segments).toEqual([
      { text: '右', changed: true },
      { text: '肺上叶磨玻璃结节，约6mm。', changed: false },
    ]);
    expect(add.segments.filter((s) => s.changed).map((s) => s.text)).toEqual(['左']);
  });

  it('marks English words, not letters', () => {
    const { a, b } = tokenDiff(tokens('no acute finding'), tokens('no chronic finding'));
    expect(a).toEqual([false, false, true, false, false]);
    expect(b).toEqual([false, false, true, false, false]);
  });

  it('keeps context lines and unpaired insertions, and a content line starting with ---', () => {
    const rows = diffRows(['--- v1', '+++ v2', '@@ -1,2 +1,3 @@', ' 保持不变', '---分隔线', '+新增一行', '+再一行']);
    expect(rows.map((r) => [r.kind, r.text])).toEqual([
      ['hunk', '@@ -1,2 +1,3 @@'],
      ['same', '保持不变'],
      ['del', '--分隔线'],
      ['add', '新增一行'],
      ['add', '再一行'],
    ]);
    const last = rows[4];
    expect(last.kind !== 'hunk' && last.segments).toEqual([{ text: '再一行', changed: true }]);
  });

  it('marks a very long changed line as a whole instead of building a huge table', () => {
    const long = 'x '.repeat(600);
    const { a } = tokenDiff(tokens(long), tokens(`${long}y`));
    expect(a.every(Boolean)).toBe(true);
  });
});

describe('critical results', () => {
  const at = (min: number) => new Date(Date.UTC(2026, 0, 1, 8, min)).toISOString();
  it('measures the time to acknowledge, none while open', () => {
    expect(timeToAcknowledge({ flagged_at: at(0), acknowledged_at: at(7) })).toBe(7 * 60_000);
    expect(timeToAcknowledge({ flagged_at: at(0), acknowledged_at: null })).toBeNull();
    expect(waitingFor({ flagged_at: at(0) }, Date.parse(at(3)))).toBe(3 * 60_000);
  });

  it('summarises median and max over the acknowledged ones', () => {
    const items = [
      { flagged_at: at(0), acknowledged_at: at(2) },
      { flagged_at: at(0), acknowledged_at: at(10) },
      { flagged_at: at(0), acknowledged_at: at(4) },
      { flagged_at: at(0), acknowledged_at: null },
    ];
    expect(ackSummary(items)).toEqual({ acknowledged: 3, medianMs: 4 * 60_000, maxMs: 10 * 60_000 });
    expect(ackSummary([])).toEqual({ acknowledged: 0, medianMs: null, maxMs: null });
    expect(median([1, 3])).toBe(2);
  });

  it('formats durations in Chinese and English', () => {
    expect(formatDuration(65_000, zh)).toBe('1分 5秒');
    expect(formatDuration(3_725_000, en)).toBe('1 h 2 min');
    expect(formatDuration(4_000, en)).toBe('4 s');
    expect(formatDuration(null, zh)).toBe('—');
  });
});

describe('RADPEER score form', () => {
  it('needs a significance for 2 and 3 and none for 1', () => {
    expect(scoreProblem(null, null)).toBe('peerReview.errors.scoreRequired');
    expect(scoreProblem(1, null)).toBeNull();
    expect(scoreProblem(1, 'a')).toBe('peerReview.errors.noSignificanceFor1');
    expect(scoreProblem(2, null)).toBe('peerReview.errors.significanceRequired');
    expect(scoreProblem(3, 'b')).toBeNull();
  });

  it('sends no significance with a 1 and a trimmed comment', () => {
    expect(scoreBody(1, 'a', '  同意 ')).toEqual({ score: 1, significance: null, comment: '同意' });
    expect(scoreBody(2, 'b', '')).toEqual({ score: 2, significance: 'b', comment: '' });
  });

  it('labels and orders the summary counts', () => {
    expect(scoreLabel(2, 'a')).toBe('2a');
    expect(scoreLabel(1, null)).toBe('1');
    expect(scoreLabel(null, null)).toBe('');
    expect(scoreRows({ '3b': 1, '1': 4 })).toEqual([['1', 4], ['2a', 0], ['2b', 0], ['3a', 0], ['3b', 1]]);
  });
});
