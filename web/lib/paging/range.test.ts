import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { pageRange, totalLabel } from './range';

describe('pageRange', () => {
  it('shows nothing and no moves for an empty list', () => {
    expect(pageRange(0, 0, 50)).toEqual({ first: 0, last: 0, prevOffset: null, nextOffset: null });
  });

  it('moves a page at a time and stops at both ends', () => {
    expect(pageRange(120, 0, 50)).toEqual({ first: 1, last: 50, prevOffset: null, nextOffset: 50 });
    expect(pageRange(120, 50, 50)).toEqual({ first: 51, last: 100, prevOffset: 0, nextOffset: 100 });
    expect(pageRange(120, 100, 50)).toEqual({ first: 101, last: 120, prevOffset: 50, nextOffset: null });
  });

  it('goes back to the start from an offset that is not a page boundary', () => {
    expect(pageRange(120, 30, 50).prevOffset).toBe(0);
  });

  it('has no next page when the page ends exactly at the total', () => {
    expect(pageRange(100, 50, 50).nextOffset).toBeNull();
  });
});

describe('totalLabel', () => {
  it('shows an exact total as it is, with grouped digits', () => {
    expect(totalLabel(0)).toBe('0');
    expect(totalLabel(120, true)).toBe('120');
    expect(totalLabel(4999, true)).toBe('4,999');
  });

  it('marks a bounded total as "at least"', () => {
    expect(totalLabel(5000, false)).toBe('5,000+');
    expect(totalLabel(10051, false)).toBe('10,051+');
  });

  it('reads as the pager shows it in both languages', () => {
    const vars = { first: 1, last: 50, total: totalLabel(5000, false) };
    expect(translate('zh-CN', 'worklist.range', vars)).toBe('第 1–50 条，共 5,000+ 条');
    expect(translate('en', 'worklist.range', vars)).toBe('1–50 of 5,000+');
  });

  it('keeps next open past a bounded total, since the server counts one past the page', () => {
    expect(pageRange(5001, 4950, 50).nextOffset).toBe(5000);
  });
});
