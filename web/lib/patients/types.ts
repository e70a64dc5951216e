/**
 * Shapes of the patients API (src/hounsfield/patients, contract in the patients task).
 * Written from the contract; `npm run gen:api` types the same fields once the routes exist.
 */
export type Sex = 'M' | 'F' | 'O' | '';

export interface Patient {
  id: number;
  mrn: string;
  issuer: string | null;
  name: string;
  name_ideographic: string | null;
  name_alphabetic: string | null;
  name_phonetic: string | null;
  sex: Sex | null;
  birth_date: string | null;
  national_id: string | null;
  phone: string | null;
  address: string | null;
  allergies: string | null;
  notes: string | null;
  version: number;
  created_at: string;
  updated_at: string;
  needs_reconciliation: boolean;
}

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

export interface PatientStudy {
  study_instance_uid: string;
  study_date: string | null;
  modalities: string[];
  description: string | null;
  accession_number: string | null;
  number_of_instances: number;
}

export type TimelineKind = 'visit' | 'study' | 'order' | 'report';

export interface TimelineItem {
  kind: TimelineKind;
  at: string | null;
  title: string;
  ref: string;
}

export type VisitType = 'outpatient' | 'inpatient' | 'emergency' | 'physical';

export interface Visit {
  id: number;
  patient_id: number;
  visit_date: string;
  visit_type: VisitType;
  department: string;
  attending_doctor: string;
  chief_complaint: string;
  diagnosis: string;
  icd10_code: string;
  created_at: string;
}

export interface Reconciliation {
  id: number;
  patient_id: number;
  study_instance_uid: string;
  differences: Record<string, { record: string | null; dicom: string | null }>;
  created_at: string;
}

export interface MergeResult {
  merge_id: string;
  target_id: number;
}
