/**
 * The administrator's study pages: export options, the sentences of refusals, and the
 * C-FIND filters of a query to a remote PACS (PS3.4 C.6.1, Study Root, STUDY level).
 */
import type { ApiErrorInfo } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { TFunction } from '@/lib/i18n';

export interface ExportOptions {
  deidentify: boolean;
  retainUids: boolean;
  cleanDescriptors: boolean;
}

export const DEFAULT_EXPORT: ExportOptions = { deidentify: true, retainUids: false, cleanDescriptors: false };

/** Query of GET /api/studies/{uid}/export: the options of a de-identified export only with it. */
export function exportParams(o: ExportOptions): Record<string, string> {
  if (!o.deidentify) return { deidentify: 'false' };
  const out: Record<string, string> = { deidentify: 'true' };
  if (o.retainUids) out.retain_uids = 'true';
  if (o.cleanDescriptors) out.clean_descriptors = 'true';
  return out;
}

/** The zip's file name: the patient ID (or the UID) and whether it is de-identified. */
export function exportFileName(patientId: string | null | undefined, studyUid: string, deidentify: boolean): string {
  const stem = deidentify ? `study-${studyUid}` : `study-${patientId || studyUid}`;
  return `${stem.replace(/[^\w.-]+/g, '_')}${deidentify ? '-deidentified' : ''}.zip`;
}

/** Codes with a sentence of their own under `adminStudies.errors.`. */
const CODES = new Set(['study_not_found', 'series_not_found', 'burned_in_annotation', 'object_missing', 'object_corrupt']);

/**
 * A refusal of the studies or query/retrieve API in words: a code we know by its sentence,
 * otherwise the server's own message (in the UI's language: the requests send it), never the code.
 */
export function studiesErrorMessage(t: TFunction, info: ApiErrorInfo): string {
  if (CODES.has(info.code)) return t(`adminStudies.errors.${info.code}`);
  if (info.code === 'dicom_remote_unavailable') return t('devices.errors.dicom_remote_unavailable');
  if (info.code === 'device_disabled') return t('devices.errors.device_disabled');
  const known = errorMessage(t, info);
  if (info.status > 0 && info.message && known === t('errors.generic', { code: info.code })) return info.message;
  return known;
}

export interface RemoteSearch {
  patientId: string;
  patientName: string;
  dateFrom: string; // yyyy-mm-dd
  dateTo: string;
  modality: string;
  accession: string;
}

export const EMPTY_REMOTE_SEARCH: RemoteSearch = {
  patientId: '',
  patientName: '',
  dateFrom: '',
  dateTo: '',
  modality: '',
  accession: '',
};

/** The attributes asked for in every STUDY-level match, besides the unique keys. */
export const RETURN_KEYS = [
  'PatientName',
  'PatientBirthDate',
  'PatientSex',
  'StudyDate',
  'StudyTime',
  'StudyDescription',
  'AccessionNumber',
  'ModalitiesInStudy',
  'NumberOfStudyRelatedSeries',
  'NumberOfStudyRelatedInstances',
];

const da = (iso: string) => iso.replaceAll('-', '');

/**
 * The C-FIND identifier's matching keys: a name matches by its beginning (`王*`) unless it
 * has wildcards of its own; dates form a range (`20260101-`, `-20261231`, or both).
 */
export function remoteFilters(s: RemoteSearch): Record<string, string> {
  const out: Record<string, string> = {};
  const id = s.patientId.trim();
  const name = s.patientName.trim();
  if (id) out.PatientID = id;
  if (name) out.PatientName = /[*?]/.test(name) ? name : `${name}*`;
  if (s.dateFrom || s.dateTo) {
    const from = s.dateFrom ? da(s.dateFrom) : '';
    const to = s.dateTo ? da(s.dateTo) : '';
    out.StudyDate = from && from === to ? from : `${from}-${to}`;
  }
  if (s.modality.trim()) out.ModalitiesInStudy = s.modality.trim().toUpperCase();
  if (s.accession.trim()) out.AccessionNumber = s.accession.trim();
  return out;
}

/** Whether a search names at least one key (an empty C-FIND would list the whole remote archive). */
export function hasCriteria(s: RemoteSearch): boolean {
  return Object.keys(remoteFilters(s)).length > 0;
}
