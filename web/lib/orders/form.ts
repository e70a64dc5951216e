/** The order entry form: fields, checks before sending (the server repeats them), request body. */
import type { Order, OrderBody, OrderPatch, PatientSource, Priority } from './types';

export interface OrderForm {
  patient_id: number | null;
  procedure: string;
  modality: string;
  body_part: string;
  priority: Priority;
  patient_source: PatientSource;
  clinical_question: string;
  ordering_doctor: string;
  ordering_department: string;
  scheduled_at: string;
  station_ae: string;
}

export type OrderField = keyof OrderForm;
export type OrderErrors = Partial<Record<OrderField, string>>;

export const EMPTY_ORDER: OrderForm = {
  patient_id: null,
  procedure: '',
  modality: 'CT',
  body_part: '',
  priority: 'routine',
  patient_source: 'outpatient',
  clinical_question: '',
  ordering_doctor: '',
  ordering_department: '',
  scheduled_at: '',
  station_ae: '',
};

const LIMITS: Partial<Record<OrderField, number>> = {
  procedure: 64,
  body_part: 64,
  clinical_question: 1024,
  ordering_doctor: 64,
  ordering_department: 64,
};
const CONTROL = /[\u0000-\u001f\u007f]/;
// PS3.5 AE VR: up to 16 printable ASCII characters, no backslash.
const AE = /^[\x20-\x5b\x5d-\x7e]{1,16}$/;

export function validateOrder(f: OrderForm): OrderErrors {
  const errors: OrderErrors = {};
  if (f.patient_id === null) errors.patient_id = 'patientRequired';
  if (!f.procedure.trim()) errors.procedure = 'required';
  if (!/^[A-Z]{2}$/.test(f.modality)) errors.modality = 'modality';
  for (const [key, max] of Object.entries(LIMITS) as [OrderField, number][]) {
    const value = String(f[key] ?? '');
    if (value.length > max) errors[key] = 'tooLong';
    // DICOM LO values: no control characters, no backslash (the value separator).
    else if (key !== 'clinical_question' && (CONTROL.test(value) || value.includes('\\'))) errors[key] = 'controlChars';
  }
  if (f.station_ae.trim() && !AE.test(f.station_ae.trim())) errors.station_ae = 'aeTitle';
  if (!f.scheduled_at) errors.scheduled_at = 'required';
  else if (Number.isNaN(Date.parse(f.scheduled_at))) errors.scheduled_at = 'dateTime';
  return errors;
}

/** Now, as a `datetime-local` value (local wall time, minutes): the form's default schedule. */
export function localNow(now: Date = new Date()): string {
  const pad = (n: number) => String(n).padStart(2, '0');
  return `${now.getFullYear()}-${pad(now.getMonth() + 1)}-${pad(now.getDate())}T${pad(now.getHours())}:${pad(now.getMinutes())}`;
}

/** `datetime-local` is local wall time; the API takes an ISO instant with its zone. */
export function orderBody(f: OrderForm): OrderBody {
  return {
    patient_id: f.patient_id ?? 0,
    procedure: f.procedure.trim(),
    modality: f.modality,
    body_part: f.body_part.trim().toUpperCase(),
    priority: f.priority,
    clinical_question: f.clinical_question.trim(),
    ordering_doctor: f.ordering_doctor.trim(),
    ordering_department: f.ordering_department.trim(),
    patient_source: f.patient_source,
    scheduled_at: new Date(f.scheduled_at).toISOString(),
    station_ae: f.station_ae.trim(),
  };
}

/** An ISO instant as a `datetime-local` value (the browser's wall time). */
export function localDateTime(iso: string): string {
  const at = new Date(iso);
  return Number.isNaN(at.getTime()) ? '' : localNow(at);
}

/** The edit form of an existing order. */
export function orderForm(o: Order): OrderForm {
  return {
    patient_id: o.patient_id,
    procedure: o.procedure,
    modality: o.modality,
    body_part: o.body_part,
    priority: o.priority,
    patient_source: o.patient_source,
    clinical_question: o.clinical_question,
    ordering_doctor: o.ordering_doctor,
    ordering_department: o.ordering_department,
    scheduled_at: localDateTime(o.scheduled_at),
    station_ae: o.station_ae,
  };
}

/** PATCH body: the version read and only the fields that differ from the order as loaded. */
export function orderChanges(before: OrderForm, after: OrderForm, version: number): OrderPatch {
  const was = orderBody(before);
  const now = orderBody(after);
  const patch: OrderPatch = { version };
  for (const key of Object.keys(now) as (keyof OrderBody)[]) {
    if (key === 'patient_id') continue; // an order stays with its patient
    if (was[key] === now[key]) continue;
    (patch as Record<string, unknown>)[key] = now[key];
  }
  return patch;
}
