/**
 * The patient form: its fields, the checks made before sending (GB 11643 check digit, phone
 * format, birth date against the ID — the server repeats them), and how a server refusal maps
 * back onto a field.
 */
import { birthDateOfId, nationalIdProblem } from './nationalId';
import type { Patient, PatientBody, Sex } from './types';

export interface PatientForm {
  mrn: string;
  name_ideographic: string;
  name_alphabetic: string;
  name_phonetic: string;
  sex: Sex;
  birth_date: string;
  national_id: string;
  phone: string;
  address: string;
  allergies: string;
  notes: string;
}

export type PatientField = keyof PatientForm;
/** Field -> i18n key of the problem (under `patients.invalid.`). */
export type PatientErrors = Partial<Record<PatientField, string>>;

export const EMPTY_PATIENT: PatientForm = {
  mrn: '',
  name_ideographic: '',
  name_alphabetic: '',
  name_phonetic: '',
  sex: '',
  birth_date: '',
  national_id: '',
  phone: '',
  address: '',
  allergies: '',
  notes: '',
};

/** Edit form of a record. A masked ID or phone (with `*`) stays empty: it is sent only if retyped. */
export function formOfPatient(p: Patient): PatientForm {
  const clear = (v: string | null) => (v && !v.includes('*') ? v : '');
  return {
    mrn: p.mrn,
    name_ideographic: p.name_ideographic ?? '',
    name_alphabetic: p.name_alphabetic ?? '',
    name_phonetic: p.name_phonetic ?? '',
    sex: (['M', 'F', 'O'].includes(p.sex) ? p.sex : '') as Sex,
    birth_date: p.birth_date ?? '',
    national_id: clear(p.national_id),
    phone: clear(p.phone),
    address: p.address ?? '',
    allergies: p.allergies ?? '',
    notes: p.notes ?? '',
  };
}

// As the server (patients/validation.py): separators and a +86 / 0086 country code dropped, then a
// mainland mobile (1[3-9] and 9 digits) or a landline with its area code (0 and 9-11 digits).
const MOBILE = /^1[3-9]\d{9}$/;
const LANDLINE = /^0\d{9,11}$/;
const CONTROL = /[\u0000-\u001f\u007f]/;

export function normalizePhone(raw: string): string {
  const digits = raw.trim().replace(/[\s()-]/g, '');
  return digits.replace(/^(\+86|0086)/, '');
}

export function phoneValid(raw: string): boolean {
  const phone = normalizePhone(raw);
  return MOBILE.test(phone) || LANDLINE.test(phone);
}

const LIMITS: Partial<Record<PatientField, number>> = {
  mrn: 64,
  name_ideographic: 200,
  name_alphabetic: 200,
  name_phonetic: 200,
  address: 255,
  allergies: 1000,
  notes: 2000,
};

export function validatePatient(f: PatientForm, today: string = new Date().toISOString().slice(0, 10)): PatientErrors {
  const errors: PatientErrors = {};
  if (!f.name_ideographic.trim() && !f.name_alphabetic.trim()) errors.name_ideographic = 'nameRequired';
  for (const [key, max] of Object.entries(LIMITS) as [PatientField, number][]) {
    const value = f[key];
    if (value.length > max) errors[key] = 'tooLong';
    else if (key !== 'notes' && key !== 'allergies' && CONTROL.test(value)) errors[key] = 'controlChars';
  }
  // A DICOM PN group cannot hold its own separators.
  for (const key of ['name_ideographic', 'name_alphabetic', 'name_phonetic'] as const) {
    if (!errors[key] && /[=\\]/.test(f[key])) errors[key] = 'nameChars';
  }
  if (f.birth_date && (!/^\d{4}-\d{2}-\d{2}$/.test(f.birth_date) || f.birth_date > today)) {
    errors.birth_date = 'birthDate';
  }
  if (f.national_id.trim()) {
    const problem = nationalIdProblem(f.national_id);
    if (problem) errors.national_id = `nationalId.${problem}`;
    else if (f.birth_date && birthDateOfId(f.national_id) !== f.birth_date) errors.birth_date = 'birthDateMismatch';
  }
  if (f.phone.trim() && !phoneValid(f.phone)) errors.phone = 'phone';
  return errors;
}

/**
 * Body for POST / PATCH, trimmed. Text fields are strings ('' clears them); an empty MRN is left
 * to the server to generate. On edit an empty ID or phone means "unchanged" (the masked value is
 * never sent back), and so does an empty birth date.
 */
export function patientBody(f: PatientForm, editing: boolean): PatientBody {
  const body: PatientBody = {
    name_ideographic: f.name_ideographic.trim(),
    name_alphabetic: f.name_alphabetic.trim(),
    name_phonetic: f.name_phonetic.trim(),
    sex: f.sex,
    address: f.address.trim(),
    allergies: f.allergies.trim(),
    notes: f.notes.trim(),
  };
  if (f.mrn.trim()) body.mrn = f.mrn.trim();
  if (!editing || f.birth_date) body.birth_date = f.birth_date || null;
  if (!editing || f.national_id.trim()) body.national_id = f.national_id.trim().toUpperCase() || null;
  if (!editing || f.phone.trim()) body.phone = normalizePhone(f.phone) || null;
  return body;
}

const SERVER_CODES: Record<string, [PatientField, string]> = {
  national_id_invalid: ['national_id', 'nationalId.checkDigit'],
  phone_invalid: ['phone', 'phone'],
  birth_date_mismatch: ['birth_date', 'birthDateMismatch'],
  mrn_taken: ['mrn', 'duplicateMrn'],
};

/** A 422 with one of the contract's codes lands on its field; other refusals stay general. */
export function serverPatientErrors(code: string): PatientErrors {
  const hit = SERVER_CODES[code];
  return hit ? { [hit[0]]: hit[1] } : {};
}
