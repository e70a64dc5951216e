/** The visit (就诊记录) form: checks before sending, as patients/validation.py does. */
import type { VisitType } from './types';

export interface VisitForm {
  visit_date: string;
  visit_type: VisitType;
  department: string;
  attending_doctor: string;
  chief_complaint: string;
  diagnosis: string;
  icd10_code: string;
}

export type VisitErrors = Partial<Record<keyof VisitForm, string>>;

// ICD-10 (WHO) and the Chinese clinical editions' extensions: J18.9, I10.x00x002.
const ICD10 = /^[A-Z]\d{2}(\.[0-9A-Za-z]{1,8})?$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

export function emptyVisit(today: string): VisitForm {
  return { visit_date: today, visit_type: 'outpatient', department: '', attending_doctor: '', chief_complaint: '', diagnosis: '', icd10_code: '' };
}

export function validateVisit(f: VisitForm): VisitErrors {
  const errors: VisitErrors = {};
  if (!/^\d{4}-\d{2}-\d{2}$/.test(f.visit_date)) errors.visit_date = 'required';
  for (const key of ['department', 'attending_doctor'] as const) {
    if (f[key].length > 64) errors[key] = 'tooLong';
    else if (CONTROL.test(f[key])) errors[key] = 'controlChars';
  }
  for (const key of ['chief_complaint', 'diagnosis'] as const) if (f[key].length > 1000) errors[key] = 'tooLong';
  if (f.icd10_code.trim() && !ICD10.test(f.icd10_code.trim().toUpperCase())) errors.icd10_code = 'icd10';
  return errors;
}

export function visitBody(f: VisitForm): VisitForm {
  return {
    ...f,
    department: f.department.trim(),
    attending_doctor: f.attending_doctor.trim(),
    chief_complaint: f.chief_complaint.trim(),
    diagnosis: f.diagnosis.trim(),
    icd10_code: f.icd10_code.trim().toUpperCase(),
  };
}
