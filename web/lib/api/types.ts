/**
 * Shapes of the studies and upload API, generated from the backend's OpenAPI
 * (`npm run gen:api` → schema.d.ts). The pages import these names.
 */
import type { components } from './schema';

type Schemas = components['schemas'];

export type StudySummary = Schemas['StudySummary'];
export type SeriesSummary = Schemas['SeriesSummary'];
export type StudyDetail = Schemas['StudyDetail'];
export type UploadResult = Schemas['UploadResult'];
export type UploadResponse = Schemas['UploadResponse'];
export type TusStatus = Schemas['TusStatus'];
export type UploadStatus = UploadResult['status'];

export interface Page<T> {
  items: T[];
  total: number;
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
