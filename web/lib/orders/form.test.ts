import { describe, expect, it } from 'vitest';
import { EMPTY_ORDER, localNow, orderBody, orderChanges, orderForm, validateOrder } from './form';
import type { Order } from './types';

describe('order form', () => {
  const ok = { ...EMPTY_ORDER, patient_id: 7, procedure: '胸部CT平扫', scheduled_at: '2026-12-02T09:30' };
  it('needs a patient and a procedure', () => {
    const e = validateOrder(EMPTY_ORDER);
    expect(e.patient_id).toBe('patientRequired');
    expect(e.procedure).toBe('required');
    expect(e.scheduled_at).toBe('required');
    expect(validateOrder(ok)).toEqual({});
  });
  it('checks the modality code and the station AE title', () => {
    expect(validateOrder({ ...ok, modality: 'ct' }).modality).toBe('modality');
    expect(validateOrder({ ...ok, station_ae: 'CT\\1' }).station_ae).toBe('aeTitle');
    expect(validateOrder({ ...ok, station_ae: 'X'.repeat(17) }).station_ae).toBe('aeTitle');
    expect(validateOrder({ ...ok, station_ae: 'CT_ROOM1' })).toEqual({});
  });
  it('refuses control characters and long text', () => {
    expect(validateOrder({ ...ok, ordering_doctor: 'a\u0000' }).ordering_doctor).toBe('controlChars');
    expect(validateOrder({ ...ok, procedure: 'x'.repeat(65) }).procedure).toBe('tooLong');
  });
  it('sends the scheduled time as an ISO instant and blanks as null', () => {
    const body = orderBody({ ...ok, scheduled_at: '2026-12-02T09:30', body_part: 'chest' });
    expect(body.scheduled_at).toBe(new Date('2026-12-02T09:30').toISOString());
    expect(body.body_part).toBe('CHEST');
    expect(body.station_ae).toBe('');
    expect(localNow(new Date(2026, 11, 2, 9, 5))).toBe('2026-12-02T09:05');
  });
});

describe('order edit', () => {
  const order = {
    id: 3, patient_id: 7, patient_name: '张三丰', accession_number: 'HF26120200000003', procedure: '胸部CT平扫',
    modality: 'CT', body_part: 'CHEST', priority: 'routine', clinical_question: '咳嗽', ordering_doctor: '李医生',
    ordering_department: '呼吸内科', patient_source: 'inpatient', scheduled_at: '2026-12-02T01:30:00Z', station_ae: 'CT1',
    status: 'scheduled', study_instance_uid: null, created_at: '2026-12-01T00:00:00Z', version: 4,
  } as Order;

  it('starts from the order as loaded, its time in local wall time', () => {
    const form = orderForm(order);
    expect(form.procedure).toBe('胸部CT平扫');
    expect(new Date(form.scheduled_at).toISOString()).toBe('2026-12-02T01:30:00.000Z');
  });

  it('sends the version read and only what changed', () => {
    const before = orderForm(order);
    expect(orderChanges(before, before, 4)).toEqual({ version: 4 });
    const after = { ...before, priority: 'stat' as const, body_part: 'head' };
    expect(orderChanges(before, after, 4)).toEqual({ version: 4, priority: 'stat', body_part: 'HEAD' });
  });
});
