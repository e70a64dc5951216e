/**
 * Shapes of the orders, worklist and statistics APIs (src/hounsfield/orders, worklist; contract
 * in the orders task). Written from the contract; `npm run gen:api` types the same fields.
 */
export const ORDER_STATUSES = ['scheduled', 'arrived', 'in_progress', 'completed', 'cancelled'] as const;
export type OrderStatus = (typeof ORDER_STATUSES)[number];
export const PRIORITIES = ['routine', 'urgent', 'stat'] as const;
export type Priority = (typeof PRIORITIES)[number];
export const SOURCES = ['outpatient', 'inpatient', 'emergency', 'physical'] as const;
export type PatientSource = (typeof SOURCES)[number];
export const READ_STATUSES = ['unread', 'in_reading', 'preliminary', 'final'] as const;
export type ReadStatus = (typeof READ_STATUSES)[number];

/** The next states an order may move to (the server refuses others with 409). */
export const ORDER_NEXT: Record<OrderStatus, OrderStatus[]> = {
  scheduled: ['arrived', 'cancelled'],
  arrived: ['in_progress', 'cancelled'],
  in_progress: ['completed', 'cancelled'],
  completed: [],
  cancelled: [],
};

export interface Order {
  id: number;
  patient_id: number;
  patient_name: string | null;
  accession_number: string;
  procedure: string;
  modality: string;
  body_part: string | null;
  priority: Priority;
  clinical_question: string | null;
  ordering_doctor: string | null;
  ordering_department: string | null;
  patient_source: PatientSource | null;
  scheduled_at: string | null;
  station_ae: string | null;
  status: OrderStatus;
  study_instance_uid: string | null;
  created_at: string;
}

export interface OrderBody {
  patient_id: number;
  procedure: string;
  modality: string;
  body_part: string;
  priority: Priority;
  clinical_question: string;
  ordering_doctor: string;
  ordering_department: string;
  patient_source: PatientSource;
  /** ISO instant with its zone (the server refuses a naive time). */
  scheduled_at: string;
  station_ae: string;
}

export interface UserRef {
  id: string;
  name: string;
}

export interface WorklistItem {
  study_instance_uid: string;
  patient_name: string | null;
  patient_id: string | null;
  sex: string | null;
  birth_date: string | null;
  age: string | null;
  modalities: string[];
  body_part: string | null;
  study_date: string | null;
  study_time: string | null;
  accession_number: string | null;
  description: string | null;
  number_of_instances: number;
  priority: Priority;
  read_status: ReadStatus;
  assigned_to: UserRef | null;
  claimed_by: UserRef | null;
  claim_expires_at: string | null;
  source: PatientSource | null;
  department: string | null;
  received_at: string | null;
}

export interface WorklistPage {
  total: number;
  counts: Record<ReadStatus, number>;
  items: WorklistItem[];
}

export interface Percentiles {
  p50: number | null;
  p90: number | null;
  p95: number | null;
}

export interface Statistics {
  by_modality: { modality: string; count: number }[];
  by_day: { day: string; count: number }[];
  by_department: { department: string; count: number }[];
  turnaround: { preliminary: Percentiles; final: Percentiles };
  workload: { user_id: string; name: string; count: number }[];
  by_source: { source: string; count: number }[];
}
