import { describe, expect, it } from 'vitest';
import type { DicomJson } from './imageIds';
import { closestIndex, priorStudies } from './priors';

function study(uid: string, date: string | null, modalities: string[] = []): DicomJson {
  return {
    '0020000D': { vr: 'UI', Value: [uid] },
    ...(date ? { '00080020': { vr: 'DA', Value: [date] } } : {}),
    '00080061': { vr: 'CS', Value: modalities },
  };
}

describe('prior studies', () => {
  it('lists the other studies, newest first, undated last', () => {
    const rows = [study('old', '20200101'), study('now', '20240301', ['CT']), study('undated', null), study('new', '20230301', ['CT', 'MR'])];
    const priors = priorStudies(rows, 'now');
    expect(priors.map((p) => p.studyUid)).toEqual(['new', 'old', 'undated']);
    expect(priors[0].modalities).toEqual(['CT', 'MR']);
  });
  it('finds the nearest slice position', () => {
    expect(closestIndex([10, 5, 0], 0)).toBe(2);
    expect(closestIndex([10, 5, 0], 6.5)).toBe(1);
    expect(closestIndex([null, 3], 100)).toBe(1);
    expect(closestIndex([null], 1)).toBe(-1);
  });
});
