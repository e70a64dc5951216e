/**
 * Whether a series can be shown as a volume (MPR, MIP): CT or MR, at least MIN_VOLUME_SLICES
 * single-frame images of one size, orientation and pixel spacing, whose positions step along the
 * slice normal by one spacing (within 10 %). Pure: the DICOM JSON of the series' instances in.
 */
import { tagNumber, TAG, type DicomJson } from './imageIds';

export const MIN_VOLUME_SLICES = 10;
export const VOLUME_MODALITIES = ['CT', 'MR'];

/** Why a series is not a volume (an i18n key under viewer.mpr.not.*), or null when it is. */
export type VolumeRefusal = 'modality' | 'slices' | 'multiframe' | 'geometry' | 'orientation' | 'spacing';

export interface VolumeCheck {
  ok: boolean;
  reason: VolumeRefusal | null;
  /** Slice spacing along the normal (mm) when ok. */
  spacing: number | null;
}

const refuse = (reason: VolumeRefusal): VolumeCheck => ({ ok: false, reason, spacing: null });

function numbers(ds: DicomJson, tag: string): number[] | null {
  const v = ds[tag]?.Value;
  if (!v) return null;
  const out = v.map(Number);
  return out.every(Number.isFinite) ? out : null;
}

export function volumeCheck(modality: string | null | undefined, instances: DicomJson[]): VolumeCheck {
  if (!modality || !VOLUME_MODALITIES.includes(modality.toUpperCase())) return refuse('modality');
  if (instances.some((ds) => (tagNumber(ds, TAG.NumberOfFrames) ?? 1) > 1)) return refuse('multiframe');
  if (instances.length < MIN_VOLUME_SLICES) return refuse('slices');
  const first = instances[0];
  const rows = tagNumber(first, '00280010');
  const cols = tagNumber(first, '00280011');
  const spacing = numbers(first, '00280030');
  const iop = numbers(first, TAG.ImageOrientationPatient);
  if (!rows || !cols || !spacing || spacing.length !== 2 || !iop || iop.length !== 6) return refuse('geometry');
  const [a, b, c, d, e, f] = iop;
  const normal = [b * f - c * e, c * d - a * f, a * e - b * d];
  if (Math.hypot(...normal) < 0.99) return refuse('orientation');
  const positions: number[] = [];
  for (const ds of instances) {
    if (tagNumber(ds, '00280010') !== rows || tagNumber(ds, '00280011') !== cols) return refuse('geometry');
    const ps = numbers(ds, '00280030');
    if (!ps || ps.length !== 2 || Math.abs(ps[0] - spacing[0]) > 1e-3 || Math.abs(ps[1] - spacing[1]) > 1e-3) {
      return refuse('geometry');
    }
    const o = numbers(ds, TAG.ImageOrientationPatient);
    if (!o || o.length !== 6 || o.some((v, i) => Math.abs(v - iop[i]) > 1e-3)) return refuse('orientation');
    const p = numbers(ds, TAG.ImagePositionPatient);
    if (!p || p.length !== 3) return refuse('geometry');
    positions.push(normal[0] * p[0] + normal[1] * p[1] + normal[2] * p[2]);
  }
  positions.sort((x, y) => x - y);
  const steps = positions.slice(1).map((p, i) => p - positions[i]);
  const mean = (positions[positions.length - 1] - positions[0]) / steps.length;
  if (!(mean > 1e-3) || steps.some((s) => Math.abs(s - mean) > mean * 0.1)) return refuse('spacing');
  return { ok: true, reason: null, spacing: mean };
}

export type SlabMode = 'mip' | 'minip' | 'average';
export const SLAB_MODES: SlabMode[] = ['mip', 'minip', 'average'];

/** A slab thickness typed by the user, in mm: 0 (one slice) up to `max` (the volume's extent). */
export function clampSlab(value: number, max: number): number {
  if (!Number.isFinite(value) || value < 0) return 0;
  return Math.min(Math.round(value * 10) / 10, Math.max(0, max));
}
