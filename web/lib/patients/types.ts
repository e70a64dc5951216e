/**
 * Shapes of the patients API, generated from the backend's OpenAPI (`npm run gen:api` →
 * schema.d.ts); the request body is the form's own (PatientBody).
 */
import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];
export type Sex = 'M' | 'F' | 'O' | '';

export type Patient = Schemas['PatientRead'];

/** A page of the search; `total_exact` false: `total` is a lower bound ("5,000+"). */
export type PatientPage = Schemas['PatientPage'];

export interface PatientBody {
  mrn?: string;
  name_ideographic: string;
  name_alphabetic: string;
  name_phonetic: string;
  sex: Sex;
  birth_date?: string | null;
  national_id?: string | null;
  phone?: string | null;
  address: string;
  allergies: string;
  notes: string;
  version?: number;
}

export type PatientStudy = Schemas['PatientStudy'];

export type TimelineKind = 'visit' | 'study' | 'order' | 'report';

export type TimelineItem = Schemas['TimelineItem'];

export type VisitType = 'outpatient' | 'inpatient' | 'emergency' | 'physical';

export type Visit = Schemas['VisitRead'];

export type Reconciliation = Schemas['ReconciliationRead'];

export type MergeResult = Schemas['MergeRead'];
