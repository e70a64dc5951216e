import { describe, expect, it } from 'vitest';
import { linkedVoiTargets } from './links';

describe('linked window/level', () => {
  it('copies to the other panes of the same modality only', () => {
    expect(linkedVoiTargets(['CT', 'MR', 'CT', 'CT'], 0)).toEqual([2, 3]);
    expect(linkedVoiTargets(['CT', 'MR', 'CT', 'CT'], 2)).toEqual([0, 3]);
    expect(linkedVoiTargets(['CT', 'MR', 'CT', 'CT'], 1)).toEqual([]);
  });
  it('links nothing from a pane without a modality, nor to one', () => {
    expect(linkedVoiTargets([null, 'CT'], 0)).toEqual([]);
    expect(linkedVoiTargets(['CT', null, undefined, 'CT'], 0)).toEqual([3]);
    expect(linkedVoiTargets(['CT'], 0)).toEqual([]);
    expect(linkedVoiTargets(['CT', 'CT'], 5)).toEqual([]);
  });
});
