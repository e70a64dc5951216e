import { describe, expect, it } from 'vitest';
import { pageRange } from './range';

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
