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

export function voiRange(width: number, center: number): { lower: number; upper: number } {
  return { lower: center - width / 2, upper: center + width / 2 };
}

export function windowFromRange(range: { lower: number; upper: number }): { width: number; center: number } {
  return { width: range.upper - range.lower, center: (range.upper + range.lower) / 2 };
}
