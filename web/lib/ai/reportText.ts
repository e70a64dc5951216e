/**
 * AI findings in a report: which findings a doctor may insert (accepted or edited ones only)
 * and the sentence a radiologist would write for one, in the UI's language. The sentence is
 * a copy made at insertion: the report keeps no link back to the finding.
 */
import { shownLabel } from './applicable';
import type { AiFinding, AiRun } from './types';
import { tagNumber, tagString, TAG, type DicomJson } from '@/lib/viewer/imageIds';

export interface InsertableFinding {
  finding: AiFinding;
  model: string;
  version: string;
  seriesInstanceUid: string | null;
}

/** Reviewed and kept by a doctor: the only findings a report may take. */
export function isAccepted(f: AiFinding): boolean {
  return f.status === 'accepted' || f.status === 'edited';
}

/**
 * The study's accepted and edited findings, oldest run first (the order they were made in),
 * and how many are still unreviewed (AI suggestions, never offered). Rejected ones count in
 * neither.
 */
export function insertableFindings(runs: readonly AiRun[]): { offered: InsertableFinding[]; unreviewed: number } {
  const offered: InsertableFinding[] = [];
  let unreviewed = 0;
  for (const run of [...runs].reverse()) {
    for (const f of run.findings) {
      if (f.status === 'suggestion') unreviewed += 1;
      else if (isAccepted(f)) offered.push({ finding: f, model: run.model, version: run.version, seriesInstanceUid: run.series_instance_uid });
    }
  }
  return { offered, unreviewed };
}

/** Where the finding is, as the viewer's overlay numbers it; null parts are left out. */
export interface FindingPlace {
  seriesNumber: number | null;
  instanceNumber: number | null;
  frame: number | null;
  frames: number | null;
}

export type ReportLanguage = 'zh-CN' | 'en';

/** The unit a measurement's name ends in (`laa950_percent` → %, `lung_volume_ml` → ml). */
export function measurementUnit(name: string): string {
  const m = /_(percent|ml|mm|cm|cm2|cm3|mm2|mm3|hu|g|s)$/.exec(name);
  if (!m) return '';
  return { percent: '%', ml: 'ml', mm: 'mm', cm: 'cm', cm2: 'cm²', cm3: 'cm³', mm2: 'mm²', mm3: 'mm³', hu: 'HU', g: 'g', s: 's' }[m[1]] ?? '';
}

/** At most one decimal, no trailing zero: 12.34 → "12.3", 8 → "8". */
export function formatNumber(v: number): string {
  return String(Math.round(v * 10) / 10);
}

/** Measurements for the report: per-class scores and voxel counts are the model's, not a reader's. */
export function reportMeasurements(f: AiFinding): [string, number][] {
  return Object.entries(f.measurements).filter(([k, v]) => !k.startsWith('p_') && !k.endsWith('_voxels') && Number.isFinite(v));
}

/** A catalogue label such as "肺容积 (ml)" without its unit: "肺容积". */
function bareName(label: string): string {
  return label.replace(/\s*[(（][^()（）]*[)）]\s*$/, '').trim() || label;
}

const WORDS = {
  'zh-CN': {
    prefix: 'AI 辅助',
    accepted: '医生已确认',
    edited: '医生已修改并确认',
    probability: '置信度',
    series: '序列',
    image: '图像',
    frame: (n: number, of: number | null) => `第 ${n}${of ? `/${of}` : ''} 帧`,
    open: '（',
    close: '）',
    colon: '：',
    comma: '，',
    stop: '。',
  },
  en: {
    prefix: 'AI-assisted',
    accepted: 'confirmed by the radiologist',
    edited: 'edited and confirmed by the radiologist',
    probability: 'probability',
    series: 'series',
    image: 'image',
    frame: (n: number, of: number | null) => `frame ${n}${of ? ` of ${of}` : ''}`,
    open: ' (',
    close: ')',
    colon: ': ',
    comma: ', ',
    stop: '.',
  },
} as const;

/**
 * The sentence for one accepted finding, e.g.
 * "AI 辅助（lung-ct v1.0.0，医生已确认）：lung，LAA%-950 12.3%，肺容积 4500 ml（序列 2，图像 45）。"
 * The doctor's edited label wins over the model's. A probability is written when the model
 * gave one below 1 (measuring models report 1.0: no score). `measureName` turns a measurement
 * key into its catalogue label (`ai.measure.<key>`), the key itself when there is none.
 */
export function findingSentence(
  item: InsertableFinding,
  language: ReportLanguage,
  measureName: (key: string) => string,
  place: FindingPlace | null = null,
): string {
  const w = WORDS[language];
  const f = item.finding;
  const review = f.status === 'edited' ? w.edited : w.accepted;
  const parts: string[] = [shownLabel(f).trim().replace(/[。.．;；,，]+$/, '')];
  for (const [key, value] of reportMeasurements(f)) {
    const unit = measurementUnit(key);
    const sep = unit === '%' || unit === '' ? '' : ' ';
    parts.push(`${bareName(measureName(key))} ${formatNumber(value)}${sep}${unit}`);
  }
  if (f.probability < 1 && f.probability >= 0) parts.push(`${w.probability} ${formatNumber(f.probability * 100)}%`);
  const where: string[] = [];
  if (place?.seriesNumber !== null && place?.seriesNumber !== undefined) where.push(`${w.series} ${place.seriesNumber}`);
  if (place?.instanceNumber !== null && place?.instanceNumber !== undefined) where.push(`${w.image} ${place.instanceNumber}`);
  const frames = place?.frames ?? null;
  if (place?.frame && frames !== null && frames > 1) where.push(w.frame(place.frame, frames));
  const located = where.length > 0 ? `${w.open}${where.join(w.comma)}${w.close}` : '';
  return `${w.prefix}${w.open}${item.model} v${item.version}${w.comma}${review}${w.close}${w.colon}${parts.join(w.comma)}${located}${w.stop}`;
}

/** The finding's series and image numbers, from its series' WADO-RS metadata. */
export function placeIn(instances: readonly DicomJson[], f: Pick<AiFinding, 'sop_instance_uid' | 'frame'>): FindingPlace | null {
  const ds = instances.find((x) => tagString(x, TAG.SOPInstanceUID) === f.sop_instance_uid);
  if (!ds) return null;
  return {
    seriesNumber: tagNumber(ds, '00200011'),
    instanceNumber: tagNumber(ds, TAG.InstanceNumber),
    frame: f.frame ?? 1,
    frames: tagNumber(ds, TAG.NumberOfFrames) ?? 1,
  };
}
