/**
 * Objects that are not images (structured reports, RT plans, presentation states, ...): what
 * they are, and an SR's content tree as text lines, from the server's DICOM JSON metadata.
 */
import { tagString, type DicomJson } from './imageIds';

export type ObjectKind = 'sr' | 'ko' | 'rtplan' | 'rtstruct' | 'rtrecord' | 'pr' | 'pdf' | 'waveform' | 'other';

const SOP_PREFIXES: [string, ObjectKind][] = [
  ['1.2.840.10008.5.1.4.1.1.88.59', 'ko'],
  ['1.2.840.10008.5.1.4.1.1.88.', 'sr'],
  ['1.2.840.10008.5.1.4.1.1.481.5', 'rtplan'],
  ['1.2.840.10008.5.1.4.1.1.481.8', 'rtplan'],
  ['1.2.840.10008.5.1.4.1.1.481.3', 'rtstruct'],
  ['1.2.840.10008.5.1.4.1.1.481.4', 'rtrecord'],
  ['1.2.840.10008.5.1.4.1.1.481.6', 'rtrecord'],
  ['1.2.840.10008.5.1.4.1.1.481.7', 'rtrecord'],
  ['1.2.840.10008.5.1.4.1.1.11.', 'pr'],
  ['1.2.840.10008.5.1.4.1.1.104.', 'pdf'],
  ['1.2.840.10008.5.1.4.1.1.9.', 'waveform'],
];

const MODALITY_KINDS: Record<string, ObjectKind> = { SR: 'sr', KO: 'ko', RTPLAN: 'rtplan', RTSTRUCT: 'rtstruct', PR: 'pr', DOC: 'pdf', ECG: 'waveform' };

/** An instance with pixels has Rows (0028,0010); everything else is shown as what it is. */
export function isImage(ds: DicomJson): boolean {
  return ds['00280010']?.Value?.length === 1;
}

export function objectKind(ds: DicomJson): ObjectKind {
  const sopClass = tagString(ds, '00080016') ?? '';
  // Longest prefixes first in the table: 88.59 (KO) before 88. (SR).
  const hit = SOP_PREFIXES.find(([prefix]) => sopClass === prefix || (prefix.endsWith('.') && sopClass.startsWith(prefix)));
  return hit?.[1] ?? MODALITY_KINDS[tagString(ds, '00080060') ?? ''] ?? 'other';
}

export interface SrLine {
  depth: number;
  name: string;
  value: string;
}

type Item = DicomJson;

function items(ds: Item, tag: string): Item[] {
  return (ds[tag]?.Value as Item[] | undefined) ?? [];
}

function codeMeaning(ds: Item, tag: string): string {
  const code = items(ds, tag)[0];
  return code ? (tagString(code, '00080104') ?? tagString(code, '00080100') ?? '') : '';
}

/** The value of one content item, as text (PS3.3 C.17.3 value types). */
function itemValue(item: Item): string {
  switch (tagString(item, '0040A040')) {
    case 'TEXT':
      return tagString(item, '0040A160') ?? '';
    case 'CODE':
      return codeMeaning(item, '0040A168');
    case 'NUM': {
      const measured = items(item, '0040A300')[0];
      if (!measured) return '';
      const unit = codeMeaning(measured, '004008EA');
      return [tagString(measured, '0040A30A'), unit && unit !== '1' ? unit : ''].filter(Boolean).join(' ');
    }
    case 'DATE':
      return tagString(item, '0040A121') ?? '';
    case 'TIME':
      return tagString(item, '0040A122') ?? '';
    case 'DATETIME':
      return tagString(item, '0040A120') ?? '';
    case 'PNAME':
      return tagString(item, '0040A123') ?? '';
    case 'UIDREF':
      return tagString(item, '0040A124') ?? '';
    default:
      return '';
  }
}

const MAX_LINES = 500;

/** The SR's content tree, depth first: one line per item (containers are headings). */
export function srLines(ds: DicomJson): SrLine[] {
  const out: SrLine[] = [];
  const walk = (item: Item, depth: number) => {
    if (out.length >= MAX_LINES) return;
    out.push({ depth, name: codeMeaning(item, '0040A043'), value: itemValue(item) });
    for (const child of items(item, '0040A730')) walk(child, depth + 1);
  };
  walk(ds, 0);
  return out.filter((l) => l.name || l.value);
}
