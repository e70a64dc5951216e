/**
 * Shapes of the orders, worklist and statistics APIs, generated from the backend's OpenAPI
 * (`npm run gen:api` → schema.d.ts); the request bodies are the forms' own.
 */
import type { components } from '@/lib/api/schema';

type Schemas = components['schemas'];
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

export type Order = Schemas['OrderRead'];

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

/** PATCH /api/orders/{id}: the version read, and only the fields that change. */
export type OrderPatch = { version: number } & Partial<Omit<OrderBody, 'patient_id'>>;

export type UserRef = Schemas['UserRef'];

export type WorklistItem = Schemas['WorklistItem'];

export type WorklistPage = Schemas['WorklistPage'];

export type Statistics = Schemas['Statistics'];
