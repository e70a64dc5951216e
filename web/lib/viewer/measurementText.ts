/**
 * What a measurement says, in the user's language: the text drawn on the image (Cornerstone's
 * getTextLines) and the measurements panel's rows. Units follow the spacing Cornerstone measured
 * with: Pixel Spacing (mm), else Imager Pixel Spacing on projection radiographs (mm at the
 * detector, with the magnification caveat), else pixels.
 */
import { utilities as metadataUtilities } from '@cornerstonejs/metadata';
import { tagNumber, tagValue, type DicomJson } from './imageIds';

export type Translate = (key: string, vars?: Record<string, string | number>) => string;

export interface Calibration {
  unit: 'mm' | 'px';
  /** Lengths at the detector, not the patient: 'imager' uncorrected, 'ermf' divided by the estimate. */
  note: 'imager' | 'ermf' | null;
  ermf: number | null;
}

export const UNCALIBRATED: Calibration = { unit: 'px', note: null, ermf: null };

function numbers(ds: DicomJson, tag: string): number[] | undefined {
  const v = ds[tag]?.Value;
  return v && v.length > 0 ? v.map(Number) : undefined;
}

/** The spacing behind a measurement on this instance, by Cornerstone's own rule (so they agree). */
export function calibrationOf(ds: DicomJson | undefined): Calibration {
  if (!ds) return UNCALIBRATED;
  const pixelSpacing = numbers(ds, '00280030');
  const imagerSpacing = numbers(ds, '00181164');
  const ermf = tagNumber(ds, '00181114');
  const info = metadataUtilities.getPixelSpacingInformation({
    SOPClassUID: tagValue(ds, '00080016'),
    PixelSpacing: pixelSpacing,
    ImagerPixelSpacing: imagerSpacing,
    PixelSpacingCalibrationType: tagValue(ds, '00280A02'),
    EstimatedRadiographicMagnificationFactor: ermf ?? undefined,
    DistanceSourceToDetector: tagNumber(ds, '00181110') ?? undefined,
    DistanceSourceToPatient: tagNumber(ds, '00181111') ?? undefined,
  } as never) as { PixelSpacing?: unknown[] };
  if (!info.PixelSpacing || info.PixelSpacing.length === 0) return UNCALIBRATED;
  // Cornerstone hands back the file's own Pixel Spacing array when it measures with it.
  if (info.PixelSpacing === pixelSpacing) return { unit: 'mm', note: null, ermf: null };
  return ermf !== null && ermf > 1 ? { unit: 'mm', note: 'ermf', ermf } : { unit: 'mm', note: 'imager', ermf: null };
}

/** The caveat line for lengths from Imager Pixel Spacing, or null. */
export function calibrationNote(c: Calibration, t: Translate): string | null {
  if (c.note === 'imager') return t('viewer.calibration.imager');
  if (c.note === 'ermf') return t('viewer.calibration.ermf', { ermf: c.ermf ?? '' });
  return null;
}

type Stats = Record<string, unknown>;

function num(v: unknown, digits = 1): string | null {
  return typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : null;
}

/**
 * The lines of one measurement. `stats` is the tool's cached statistics; lengths and areas take
 * their unit from `c`, grey values keep the tool's modality unit (HU for CT).
 */
export function measurementLines(kind: string, stats: Stats | undefined, c: Calibration, t: Translate): string[] {
  if (!stats) return [];
  const note = calibrationNote(c, t);
  const withNote = (lines: string[]) => (note && lines.length ? [...lines, note] : lines);
  if (kind === 'Length') {
    const length = num(stats.length);
    return length === null ? [] : withNote([`${length} ${c.unit}`]);
  }
  if (kind === 'Angle') {
    const angle = num(stats.angle);
    return angle === null ? [] : [`${angle}°`];
  }
  const unit = typeof stats.modalityUnit === 'string' ? ` ${stats.modalityUnit}` : '';
  const lines: string[] = [];
  const area = num(stats.area);
  if (area !== null) lines.push(`${t('viewer.stats.area')}: ${area} ${c.unit}²`);
  for (const key of ['mean', 'stdDev', 'max', 'min'] as const) {
    const v = num(stats[key]);
    if (v !== null) lines.push(`${t(`viewer.stats.${key}`)}: ${v}${unit}`);
  }
  return withNote(lines);
}

/** The measurements panel's one-line summary: `40.1 ± 3.2 HU · 123.4 mm²`, `52.3 mm`. */
export function measurementSummary(kind: string, stats: Stats | undefined, c: Calibration, t: Translate): string {
  if (!stats) return '';
  if (kind === 'Length' || kind === 'Angle') return measurementLines(kind, stats, c, t).join(' · ');
  const unit = typeof stats.modalityUnit === 'string' ? ` ${stats.modalityUnit}` : '';
  const parts = [`${num(stats.mean) ?? '-'} ± ${num(stats.stdDev) ?? '-'}${unit}`, `${num(stats.area) ?? '-'} ${c.unit}²`];
  const note = calibrationNote(c, t);
  return [...parts, ...(note ? [note] : [])].join(' · ');
}
