/**
 * Shapes of the studies and upload API (see the contract). Once the backend's OpenAPI carries
 * them, `schema.d.ts` (npm run gen:api) is the source; these aliases keep the pages stable.
 */
export interface StudySummary {
  study_instance_uid: string;
  patient_id: string | null;
  issuer_of_patient_id?: string | null;
  patient_name: string | null;
  patient_birth_date: string | null;
  patient_sex: string | null;
  accession_number: string | null;
  study_date: string | null;
  study_time?: string | null;
  study_description: string | null;
  referring_physician_name?: string | null;
  modalities: string[];
  number_of_series: number;
  number_of_instances: number;
  received_at?: string | null;
}

export interface SeriesSummary {
  series_instance_uid: string;
  modality: string | null;
  series_number: number | null;
  series_description: string | null;
  body_part_examined?: string | null;
  number_of_instances: number;
}

export interface StudyDetail extends StudySummary {
  series: SeriesSummary[];
}

export interface Page<T> {
  items: T[];
  total: number;
}

export type UploadStatus = 'stored' | 'duplicate' | 'refused';

export interface UploadResult {
  filename: string;
  status: UploadStatus;
  reason: string | null;
  study_instance_uid?: string | null;
  series_instance_uid?: string | null;
  sop_instance_uid?: string | null;
}

export interface UploadResponse {
  results: UploadResult[];
  stored: number;
  duplicates: number;
  refused: number;
}

export interface TusStatus {
  offset: number;
  length: number;
  complete: boolean;
  results?: UploadResult[];
}

export const STUDY_SORT_KEYS = [
  'study_date',
  'patient_name',
  'patient_id',
  'accession_number',
  'modalities',
  'received_at',
] as const;
export type StudySortKey = (typeof STUDY_SORT_KEYS)[number];
