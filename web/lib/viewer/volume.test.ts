import { describe, expect, it } from 'vitest';
import type { DicomJson } from './imageIds';
import { clampSlab, MIN_VOLUME_SLICES, volumeCheck } from './volume';

function slice(z: number, extra: Partial<Record<string, unknown[]>> = {}): DicomJson {
  const ds: DicomJson = {
    '00280010': { vr: 'US', Value: [64] },
    '00280011': { vr: 'US', Value: [64] },
    '00280030': { vr: 'DS', Value: [0.7, 0.7] },
    '00200037': { vr: 'DS', Value: [1, 0, 0, 0, 1, 0] },
    '00200032': { vr: 'DS', Value: [-20, -20, z] },
  };
  for (const [tag, value] of Object.entries(extra)) ds[tag] = { vr: 'DS', Value: value };
  return ds;
}
const series = (n: number, step = 2.5) => Array.from({ length: n }, (_, i) => slice(i * step));

describe('volumeCheck', () => {
  it('accepts a CT or MR stack of parallel, evenly spaced slices in any order', () => {
    const shuffled = series(20).reverse();
    expect(volumeCheck('CT', shuffled)).toEqual({ ok: true, reason: null, spacing: 2.5 });
    expect(volumeCheck('mr', series(MIN_VOLUME_SLICES)).ok).toBe(true);
  });
  it('refuses other modalities and too few slices', () => {
    expect(volumeCheck('DX', series(20)).reason).toBe('modality');
    expect(volumeCheck(null, series(20)).reason).toBe('modality');
    expect(volumeCheck('CT', series(MIN_VOLUME_SLICES - 1)).reason).toBe('slices');
  });
  it('refuses multi-frame objects, mixed orientations, sizes and gaps', () => {
    expect(volumeCheck('CT', [...series(12), slice(40, { '00280008': [5] })]).reason).toBe('multiframe');
    expect(volumeCheck('CT', [...series(12), slice(30, { '00200037': [0, 1, 0, 0, 0, -1] })]).reason).toBe('orientation');
    expect(volumeCheck('CT', [...series(12), slice(30, { '00280030': [0.5, 0.5] })]).reason).toBe('geometry');
    const gap = series(12);
    gap.push(slice(12 * 2.5 + 10));
    expect(volumeCheck('CT', gap).reason).toBe('spacing');
    // Two images at one position (a duplicate): no spacing to step by.
    expect(volumeCheck('CT', [...series(12), slice(0)]).reason).toBe('spacing');
  });
  it('refuses images without geometry', () => {
    const bare = series(12).map((ds) => ({ ...ds, '00200037': undefined }));
    expect(volumeCheck('CT', bare).reason).toBe('geometry');
  });
});

describe('clampSlab', () => {
  it('keeps a thickness between 0 and the volume extent, to 0.1 mm', () => {
    expect(clampSlab(12.34, 100)).toBe(12.3);
    expect(clampSlab(-3, 100)).toBe(0);
    expect(clampSlab(Number.NaN, 100)).toBe(0);
    expect(clampSlab(500, 80)).toBe(80);
  });
});
