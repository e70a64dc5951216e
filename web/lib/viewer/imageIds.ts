/** DICOM JSON (PS3.18 F) helpers and the WADO-RS image ids of a series. */
export type DicomJson = Record<string, { vr: string; Value?: unknown[] } | undefined>;

export function tagValue(ds: DicomJson, tag: string): unknown {
  return ds[tag]?.Value?.[0];
}

export function tagString(ds: DicomJson, tag: string): string | null {
  const v = tagValue(ds, tag);
  if (v === undefined || v === null) return null;
  if (typeof v === 'object') {
    const pn = v as { Alphabetic?: string; Ideographic?: string };
    return pn.Ideographic || pn.Alphabetic || null;
  }
  return String(v);
}

export function tagNumber(ds: DicomJson, tag: string): number | null {
  const v = tagValue(ds, tag);
  const n = typeof v === 'number' ? v : typeof v === 'string' ? Number(v) : NaN;
  return Number.isFinite(n) ? n : null;
}

export const TAG = {
  SOPInstanceUID: '00080018',
  InstanceNumber: '00200013',
  NumberOfFrames: '00280008',
  ImagePositionPatient: '00200032',
  ImageOrientationPatient: '00200037',
} as const;

export interface StackEntry {
  imageId: string;
  instance: DicomJson;
  frame: number;
}

/** Projection of position on the slice normal (mm), for sorting along the stack and syncing. */
export function slicePosition(ds: DicomJson): number | null {
  const pos = ds[TAG.ImagePositionPatient]?.Value as number[] | undefined;
  const iop = ds[TAG.ImageOrientationPatient]?.Value as number[] | undefined;
  if (!pos || pos.length !== 3 || !iop || iop.length !== 6) return null;
  const [a, b, c, d, e, f] = iop.map(Number);
  const normal = [b * f - c * e, c * d - a * f, a * e - b * d];
  return normal[0] * Number(pos[0]) + normal[1] * Number(pos[1]) + normal[2] * Number(pos[2]);
}

/**
 * One image id per frame, ordered by InstanceNumber (then slice position), frames in order.
 * `wadors:<base>/studies/<s>/series/<se>/instances/<i>/frames/<n>`.
 */
export function buildStack(base: string, studyUid: string, seriesUid: string, instances: DicomJson[]): StackEntry[] {
  const sorted = [...instances].sort((x, y) => {
    const nx = tagNumber(x, TAG.InstanceNumber);
    const ny = tagNumber(y, TAG.InstanceNumber);
    if (nx !== null && ny !== null && nx !== ny) return nx - ny;
    const px = slicePosition(x);
    const py = slicePosition(y);
    if (px !== null && py !== null && px !== py) return px - py;
    return (tagString(x, TAG.SOPInstanceUID) ?? '').localeCompare(tagString(y, TAG.SOPInstanceUID) ?? '');
  });
  const out: StackEntry[] = [];
  for (const ds of sorted) {
    const sop = tagString(ds, TAG.SOPInstanceUID);
    if (!sop) continue;
    const frames = Math.max(1, tagNumber(ds, TAG.NumberOfFrames) ?? 1);
    for (let f = 1; f <= frames; f += 1) {
      out.push({
        imageId: `wadors:${base}/studies/${studyUid}/series/${seriesUid}/instances/${sop}/frames/${f}`,
        instance: ds,
        frame: f,
      });
    }
  }
  return out;
}
