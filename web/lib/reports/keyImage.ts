import type { KeyImage } from './types';

/** Series, instance and frame out of a `wadors:…/series/<se>/instances/<i>/frames/<n>` image id. */
export function parseImageId(imageId: string): { series: string; sop: string; frame: number } | null {
  const m = /\/series\/([0-9.]+)\/instances\/([0-9.]+)\/frames\/(\d+)/.exec(imageId);
  if (!m) return null;
  return { series: m[1], sop: m[2], frame: Number(m[3]) };
}

/** A key image as the doctor sees it: the frame, the W/L (from the VOI range) and its measurements. */
export function keyImageFrom(
  imageId: string,
  voi: { lower: number; upper: number } | undefined,
  measurements: Record<string, unknown>[],
): KeyImage | null {
  const ref = parseImageId(imageId);
  if (!ref) return null;
  const width = voi ? voi.upper - voi.lower : undefined;
  return {
    series_instance_uid: ref.series,
    sop_instance_uid: ref.sop,
    frame: ref.frame,
    window_center: voi ? (voi.upper + voi.lower) / 2 : null,
    window_width: width && width > 0 ? width : null,
    measurements,
    caption: '',
  };
}
