import { describe, expect, it } from 'vitest';
import { emptyVisit, validateVisit, visitBody } from './visit';

describe('visit form', () => {
  const ok = emptyVisit('2026-12-02');
  it('accepts a plain visit and a well-formed ICD-10 code', () => {
    expect(validateVisit(ok)).toEqual({});
    expect(validateVisit({ ...ok, icd10_code: 'J18.9' })).toEqual({});
    expect(validateVisit({ ...ok, icd10_code: 'i10.x00x002' })).toEqual({});
  });
  it('refuses a malformed code, a missing date and control characters', () => {
    expect(validateVisit({ ...ok, icd10_code: '18.9' }).icd10_code).toBe('icd10');
    expect(validateVisit({ ...ok, visit_date: '' }).visit_date).toBe('required');
    expect(validateVisit({ ...ok, department: '放射\u0000科' }).department).toBe('controlChars');
  });
  it('upper-cases the code and trims', () => {
    expect(visitBody({ ...ok, icd10_code: ' j18.9 ', department: ' 呼吸科 ' })).toMatchObject({ icd10_code: 'J18.9', department: '呼吸科' });
  });
});
