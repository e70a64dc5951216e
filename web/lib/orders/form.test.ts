import { describe, expect, it } from 'vitest';
import { EMPTY_ORDER, localNow, orderBody, validateOrder } from './form';

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
