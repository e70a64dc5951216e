import { describe, expect, it } from 'vitest';
import { EMPTY_PATIENT, patientBody, phoneValid, serverPatientErrors, validatePatient } from './form';
import { birthDateOfId, checkCharacter, nationalIdProblem, sexOfId } from './nationalId';

// The GB 11643 standard's own example number (born 1949-12-31, a woman).
const VALID = '11010519491231002X';

describe('GB 11643 national ID', () => {
  it('computes the MOD 11-2 check character', () => {
    expect(checkCharacter('11010519491231002')).toBe('X');
    expect(checkCharacter('44052418800101001')).toBe('4');
  });
  it('accepts a valid number, lower-case x too', () => {
    expect(nationalIdProblem(VALID)).toBeNull();
    expect(nationalIdProblem(VALID.toLowerCase())).toBeNull();
  });
  it('names what is wrong', () => {
    expect(nationalIdProblem('110105194912310021')).toBe('checkDigit');
    expect(nationalIdProblem('11010519491331002X')).toBe('birthDate');
    expect(nationalIdProblem('1101051949123100')).toBe('format');
  });
  it('reads birth date and sex', () => {
    expect(birthDateOfId(VALID)).toBe('1949-12-31');
    expect(sexOfId(VALID)).toBe('F');
    expect(sexOfId('440524188001010014')).toBe('M');
  });
});

describe('patient form', () => {
  const base = { ...EMPTY_PATIENT, name_ideographic: '张三丰' };
  it('needs a name', () => {
    expect(validatePatient(EMPTY_PATIENT).name_ideographic).toBe('nameRequired');
    expect(validatePatient(base)).toEqual({});
  });
  it('checks the ID check digit and the birth date against it', () => {
    expect(validatePatient({ ...base, national_id: '110105194912310021' }).national_id).toBe('nationalId.checkDigit');
    expect(validatePatient({ ...base, national_id: VALID, birth_date: '1949-12-31' })).toEqual({});
    expect(validatePatient({ ...base, national_id: VALID, birth_date: '1950-01-01' }).birth_date).toBe('birthDateMismatch');
  });
  it('refuses a future birth date and control characters', () => {
    expect(validatePatient({ ...base, birth_date: '2999-01-01' }, '2026-12-02').birth_date).toBe('birthDate');
    expect(validatePatient({ ...base, address: 'a\u0000b' }).address).toBe('controlChars');
    expect(validatePatient({ ...base, name_alphabetic: 'Zhang=San' }).name_alphabetic).toBe('nameChars');
  });
  it('knows mobile and landline numbers', () => {
    expect(phoneValid('13800138000')).toBe(true);
    expect(phoneValid('+86 138 0013 8000')).toBe(true);
    expect(phoneValid('010-88886666')).toBe(true);
    expect(phoneValid('0086 13800138000')).toBe(true);
    expect(phoneValid('12800138000')).toBe(false);
    expect(phoneValid('1380013800')).toBe(false);
    expect(validatePatient({ ...base, phone: '123' }).phone).toBe('phone');
  });
  it('sends an empty ID/phone on edit as "unchanged"', () => {
    const body = patientBody({ ...base, national_id: '', phone: '' }, true);
    expect('national_id' in body).toBe(false);
    expect('phone' in body).toBe(false);
    expect(patientBody({ ...base, national_id: VALID.toLowerCase() }, false).national_id).toBe(VALID);
    expect(patientBody(base, false).mrn).toBeUndefined();
    expect(patientBody({ ...base, phone: '+86 138-0013-8000' }, false).phone).toBe('13800138000');
    expect(patientBody(base, false).address).toBe('');
    expect(patientBody(base, true).birth_date).toBeUndefined();
  });
  it('maps the server codes onto fields', () => {
    expect(serverPatientErrors('national_id_invalid')).toEqual({ national_id: 'nationalId.checkDigit' });
    expect(serverPatientErrors('birth_date_mismatch')).toEqual({ birth_date: 'birthDateMismatch' });
    expect(serverPatientErrors('mrn_taken')).toEqual({ mrn: 'duplicateMrn' });
    expect(serverPatientErrors('version_conflict')).toEqual({});
  });
});
