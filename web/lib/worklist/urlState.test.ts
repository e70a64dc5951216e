import { describe, expect, it } from 'vitest';
import { claimSecondsLeft, DEFAULT_WORKLIST, filtersFromSearch, nextSort, searchOfFilters, worklistParams } from './urlState';

describe('worklist URL state', () => {
  it('round-trips the filters through the query string', () => {
    const f = { ...DEFAULT_WORKLIST, status: 'unread', modality: 'CT', accession: 'A12', sort: '-patient_name', offset: 50, limit: 50 };
    const search = searchOfFilters(f);
    expect(search).toContain('status=unread');
    expect(search).not.toContain('priority');
    expect(filtersFromSearch(search)).toEqual(f);
  });
  it('writes nothing for the defaults', () => {
    expect(searchOfFilters(DEFAULT_WORKLIST)).toBe('');
    expect(filtersFromSearch('')).toEqual(DEFAULT_WORKLIST);
  });
  it('ignores junk in the URL', () => {
    const f = filtersFromSearch('?sort=1;drop&limit=7&offset=-3&q=' + 'x'.repeat(500));
    expect(f.sort).toBe(DEFAULT_WORKLIST.sort);
    expect(f.limit).toBe(25);
    expect(f.offset).toBe(0);
    expect(f.q.length).toBe(64);
  });
  it('sends only the set filters', () => {
    expect(worklistParams({ ...DEFAULT_WORKLIST, status: 'final' })).toEqual({ status: 'final', sort: 'priority', limit: 25, offset: 0 });
  });
  it('sorts descending first, then toggles', () => {
    expect(nextSort('priority', 'study_date')).toBe('-study_date');
    expect(nextSort('-study_date', 'study_date')).toBe('study_date');
    expect(nextSort('study_date', 'study_date')).toBe('-study_date');
    expect(nextSort('-study_date', 'priority')).toBe('priority');
    expect(filtersFromSearch('?sort=patient_id').sort).toBe('priority');
  });
  it('counts a claim down to zero', () => {
    const now = Date.parse('2026-12-02T01:00:00Z');
    expect(claimSecondsLeft('2026-12-02T01:30:00Z', now)).toBe(1800);
    expect(claimSecondsLeft('2026-12-02T00:30:00Z', now)).toBe(0);
    expect(claimSecondsLeft(null, now)).toBeNull();
  });
});
