import { describe, expect, it } from 'vitest';
import { ageAt, displayDate, quickRange } from './dates';

describe('dates', () => {
  const now = new Date(2024, 2, 2, 15, 0); // 2 March 2024, local time
  it('quick picks are inclusive calendar ranges', () => {
    expect(quickRange('today', now)).toEqual({ from: '2024-03-02', to: '2024-03-02' });
    expect(quickRange('3days', now)).toEqual({ from: '2024-02-29', to: '2024-03-02' });
    expect(quickRange('week', now)).toEqual({ from: '2024-02-25', to: '2024-03-02' });
  });
  it('computes DICOM-style ages at the study date', () => {
    expect(ageAt('1980-01-01', '2024-01-05')).toBe('044Y');
    expect(ageAt('19800106', '20240105')).toBe('043Y');
    expect(ageAt('2023-11-20', '2024-01-05')).toBe('001M');
    expect(ageAt(null, '2024-01-05')).toBeNull();
  });
  it('displays DICOM dates', () => {
    expect(displayDate('20240105')).toBe('2024-01-05');
    expect(displayDate(null)).toBe('');
  });
});
