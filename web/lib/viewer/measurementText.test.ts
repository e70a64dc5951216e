import { describe, expect, it } from 'vitest';
import type { DicomJson } from './imageIds';
import { calibrationOf, measurementLines, measurementSummary, UNCALIBRATED } from './measurementText';
import { translate } from '@/lib/i18n';

const zh = (key: string, vars?: Record<string, string | number>) => translate('zh-CN', key, vars);
const DX = '1.2.840.10008.5.1.4.1.1.1.1';
const CT = '1.2.840.10008.5.1.4.1.1.2';

function ds(sopClass: string, tags: Record<string, unknown[]>): DicomJson {
  const out: DicomJson = { '00080016': { vr: 'UI', Value: [sopClass] } };
  for (const [tag, value] of Object.entries(tags)) out[tag] = { vr: 'DS', Value: value };
  return out;
}

describe('measurement calibration', () => {
  it('Pixel Spacing first, then Imager Pixel Spacing (with the caveat), else px', () => {
    expect(calibrationOf(ds(CT, { '00280030': [0.66, 0.66] }))).toEqual({ unit: 'mm', note: null, ermf: null });
    expect(calibrationOf(ds(DX, { '00181164': [0.2, 0.2] }))).toEqual({ unit: 'mm', note: 'imager', ermf: null });
    // CR with both: Pixel Spacing (already corrected at the patient) wins.
    expect(calibrationOf(ds(DX, { '00280030': [0.5, 0.5], '00181164': [0.6, 0.6] })).note).toBeNull();
    expect(calibrationOf(ds(DX, { '00181164': [0.2, 0.2], '00181114': [1.25] }))).toEqual({ unit: 'mm', note: 'ermf', ermf: 1.25 });
    expect(calibrationOf(ds('1.2.840.10008.5.1.4.1.1.7', {}))).toEqual(UNCALIBRATED);
    expect(calibrationOf(undefined)).toEqual(UNCALIBRATED);
  });
});

describe('measurement text in zh-CN', () => {
  const roi = { area: 123.456, mean: 40.04, stdDev: 3.21, max: 80, min: -2, modalityUnit: 'HU' };
  it('ROI lines are Chinese, with HU', () => {
    const lines = measurementLines('EllipticalROI', roi, { unit: 'mm', note: null, ermf: null }, zh);
    expect(lines).toEqual(['面积: 123.5 mm²', '均值: 40.0 HU', '标准差: 3.2 HU', '最大值: 80.0 HU', '最小值: -2.0 HU']);
  });
  it('lengths carry the unit and the caveat', () => {
    expect(measurementLines('Length', { length: 52.34 }, { unit: 'mm', note: 'imager', ermf: null }, zh)).toEqual([
      '52.3 mm',
      '探测器像素间距，未校正放大',
    ]);
    expect(measurementLines('Length', { length: 12 }, UNCALIBRATED, zh)).toEqual(['12.0 px']);
    expect(measurementLines('Length', { length: NaN }, UNCALIBRATED, zh)).toEqual([]);
    expect(measurementLines('Angle', { angle: 33.33 }, UNCALIBRATED, zh)).toEqual(['33.3°']);
  });
  it('the panel summary is one line', () => {
    expect(measurementSummary('RectangleROI', roi, UNCALIBRATED, zh)).toBe('40.0 ± 3.2 HU · 123.5 px²');
  });
});
