import { describe, expect, it } from 'vitest';
import { ellipseHandles, fromDicomPoint, measuredValues, parseImageId, toDicomPoint } from './measurementGeometry';

describe('saved measurement geometry', () => {
  it('reads study, series, instance and frame from a WADO-RS image id', () => {
    const id = 'wadors:http://h/dicom-web/studies/1.2/series/1.2.3/instances/1.2.3.4/frames/7';
    expect(parseImageId(id)).toEqual({ study: '1.2', series: '1.2.3', sop: '1.2.3.4', frame: 7 });
    expect(parseImageId('wadouri:http://h/x.dcm')).toBeNull();
    expect(parseImageId(undefined)).toBeNull();
  });

  it('moves pixel centres between Cornerstone (whole numbers) and DICOM (.5)', () => {
    expect(toDicomPoint([0, 9])).toEqual([0.5, 9.5]);
    expect(fromDicomPoint(toDicomPoint([3.25, 4]))).toEqual([3.25, 4]);
  });

  it("puts an ellipse's axes back in Cornerstone's order: bottom, top, left, right", () => {
    const bottom: [number, number] = [8, 12];
    const top: [number, number] = [8, 4];
    const left: [number, number] = [5, 8];
    const right: [number, number] = [11, 8];
    const want = [bottom, top, left, right];
    expect(ellipseHandles([top, bottom, right, left])).toEqual(want);
    expect(ellipseHandles([left, right, bottom, top])).toEqual(want); // major axis horizontal
  });

  it('keeps the values each tool computed, with their units', () => {
    expect(measuredValues('Length', { length: 12.3, unit: 'mm' }, 'mm')).toEqual([{ name: 'length', value: 12.3, unit: 'mm' }]);
    expect(measuredValues('Length', { length: 40, unit: 'px' }, 'px')).toEqual([{ name: 'length', value: 40, unit: 'px' }]);
    expect(measuredValues('EllipticalROI', { area: 50, mean: 40, stdDev: 3, max: NaN, modalityUnit: 'HU' }, 'mm')).toEqual([
      { name: 'area', value: 50, unit: 'mm2' },
      { name: 'mean', value: 40, unit: 'HU' },
      { name: 'stdDev', value: 3, unit: 'HU' },
    ]);
    expect(measuredValues('ArrowAnnotate', {}, 'mm')).toEqual([]);
  });
});
