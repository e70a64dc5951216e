/**
 * Geometry and values of saved measurements, apart from Cornerstone (unit-tested).
 *
 * Cornerstone's image coordinates put pixel centres on whole numbers; DICOM's (SR SCOORD)
 * put the top-left corner of the first pixel at 0,0, so a centre is at .5.
 */
import type { components } from '@/lib/api/schema';

type Value = NonNullable<components['schemas']['Measurement']['values']>[number];
type Point2 = [number, number];

const FRAME_URL = /\/studies\/([0-9.]+)\/series\/([0-9.]+)\/instances\/([0-9.]+)\/frames\/(\d+)$/;

export interface ImageRef {
  study: string;
  series: string;
  sop: string;
  frame: number;
}

/** The study, series, instance and frame a WADO-RS image id shows. */
export function parseImageId(imageId: string | undefined): ImageRef | null {
  const m = imageId ? FRAME_URL.exec(imageId) : null;
  return m ? { study: m[1], series: m[2], sop: m[3], frame: Number(m[4]) } : null;
}

export const toDicomPoint = (p: ArrayLike<number>): Point2 => [p[0] + 0.5, p[1] + 0.5];
export const fromDicomPoint = (p: ArrayLike<number>): Point2 => [p[0] - 0.5, p[1] - 0.5];

/**
 * The ellipse's handles in Cornerstone's order (bottom, top, left, right) from its two axes
 * in either order (the SR has the major axis first).
 */
export function ellipseHandles(points: Point2[]): Point2[] {
  const [a, b, c, d] = points;
  const vertical = Math.abs(a[1] - b[1]) >= Math.abs(c[1] - d[1]);
  const [v1, v2, h1, h2] = vertical ? [a, b, c, d] : [c, d, a, b];
  const [bottom, top] = v1[1] >= v2[1] ? [v1, v2] : [v2, v1];
  const [left, right] = h1[0] <= h2[0] ? [h1, h2] : [h2, h1];
  return [bottom, top, left, right];
}

const UNITS: Record<string, Value['unit']> = { mm: 'mm', 'mm²': 'mm2', mm2: 'mm2', px: 'px', 'px²': 'px2', HU: 'HU', '°': 'deg', deg: 'deg' };

function finite(v: unknown): v is number {
  return typeof v === 'number' && Number.isFinite(v);
}

/** What the tool computed, for other viewers (ours recompute it when drawing). */
export function measuredValues(tool: string, stats: Record<string, unknown> | undefined, lengthUnit: 'mm' | 'px'): Value[] {
  if (!stats) return [];
  const out: Value[] = [];
  const area: Value['unit'] = lengthUnit === 'mm' ? 'mm2' : 'px2';
  const modality = UNITS[String(stats.modalityUnit ?? '')] ?? '1';
  if (tool === 'Length' && finite(stats.length)) out.push({ name: 'length', value: stats.length, unit: lengthUnit });
  if (tool === 'Angle' && finite(stats.angle)) out.push({ name: 'angle', value: stats.angle, unit: 'deg' });
  if (tool === 'RectangleROI' || tool === 'EllipticalROI') {
    if (finite(stats.area)) out.push({ name: 'area', value: stats.area, unit: area });
    for (const name of ['mean', 'stdDev', 'max', 'min'] as const) {
      const v = stats[name];
      if (finite(v)) out.push({ name, value: v, unit: modality });
    }
  }
  return out;
}
