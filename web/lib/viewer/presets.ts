/** CT window presets (width/center in HU), bound to keys 1–5. */
export interface WindowPreset {
  id: string;
  key: string;
  width: number;
  center: number;
}

export const CT_PRESETS: WindowPreset[] = [
  { id: 'lung', key: '1', width: 1500, center: -600 },
  { id: 'mediastinum', key: '2', width: 350, center: 50 },
  { id: 'bone', key: '3', width: 2000, center: 300 },
  { id: 'brain', key: '4', width: 80, center: 40 },
  { id: 'abdomen', key: '5', width: 400, center: 40 },
];

/** The presets that make sense for a modality: HU windows only for CT (MR, US, DX... have none). */
export function presetsFor(modality: string | null | undefined): WindowPreset[] {
  return modality === 'CT' ? CT_PRESETS : [];
}

/**
 * Width/center to the VOI range Cornerstone renders, with DICOM's linear VOI function
 * (PS3.3 C.11.2.1.2.1, as Cornerstone's toLowHighRange): a 400/40 window spans −160..239.
 */
export function voiRange(width: number, center: number): { lower: number; upper: number } {
  const lower = center - width / 2;
  return { lower, upper: lower + width - 1 };
}

/** The inverse of voiRange: the width/center a VOI range shows as (−160..239 → 400/40). */
export function windowFromRange(range: { lower: number; upper: number }): { width: number; center: number } {
  const width = range.upper - range.lower + 1;
  return { width, center: range.lower + width / 2 };
}
