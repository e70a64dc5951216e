'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useState, type ReactNode } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { useT } from '@/lib/i18n';
import {
  EMPTY_PATIENT,
  formOfPatient,
  patientBody,
  serverPatientErrors,
  validatePatient,
  type PatientErrors,
  type PatientField,
  type PatientForm,
} from '@/lib/patients/form';
import { birthDateOfId, nationalIdProblem, sexOfId } from '@/lib/patients/nationalId';
import type { Patient, Sex } from '@/lib/patients/types';
import { useSavePatient } from '@/lib/queries/patients';

/**
 * Create (patient null) or edit a patient. Checks the fields first; a stale edit (409
 * version_conflict) says so and offers to reload, never overwrites someone else's change.
 */
export function PatientDialog({ patient, onClose, onSaved }: { patient: Patient | null; onClose: () => void; onSaved?: (p: Patient) => void }) {
  const t = useT();
  const [form, setForm] = useState<PatientForm>(patient ? formOfPatient(patient) : EMPTY_PATIENT);
  const [errors, setErrors] = useState<PatientErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const [conflict, setConflict] = useState(false);
  const save = useSavePatient();
  const client = useQueryClient();
  /** After a conflict: close and read the record again (the other user's change). */
  const reload = () => {
    void client.invalidateQueries({ queryKey: ['patient', String(patient?.id)] });
    onClose();
  };

  const set = (key: PatientField, value: string) => {
    setForm((f) => {
      const next = { ...f, [key]: value };
      // A valid ID fills in an empty birth date and sex (the ID encodes both).
      if (key === 'national_id' && !nationalIdProblem(value)) {
        if (!f.birth_date) next.birth_date = birthDateOfId(value) ?? '';
        if (!f.sex) next.sex = sexOfId(value) ?? '';
      }
      return next;
    });
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setGeneral(null);
    const problems = validatePatient(form);
    setErrors(problems);
    if (Object.keys(problems).length) return;
    const body = patientBody(form, !!patient);
    if (patient) body.version = patient.version;
    try {
      const saved = await save.mutateAsync({ patientId: patient?.id ?? null, body });
      onSaved?.(saved);
      onClose();
    } catch (err) {
      const info = describeError(err);
      if (info.code === 'version_conflict') {
        setConflict(true);
        return;
      }
      const fields = serverPatientErrors(info.code);
      setErrors(fields);
      if (!Object.keys(fields).length) {
        setGeneral(info.status === 409 ? t('patients.errors.conflict', { detail: info.message }) : errorMessage(t, info));
      }
    }
  };

  const field = (key: PatientField, label: string, input: ReactNode, wide = false) => (
    <label className={`block text-xs text-slate-600 ${wide ? 'col-span-2' : ''}`}>
      {label}
      {input}
      {errors[key] && (
        <span className="mt-0.5 block text-red-600" data-testid={`patient-error-${key}`} role="alert">
          {t(`patients.invalid.${errors[key]}`)}
        </span>
      )}
    </label>
  );
  const cls = (key: PatientField) =>
    `mt-0.5 block w-full rounded border px-2 py-1 text-sm text-slate-900 ${errors[key] ? 'border-red-500' : 'border-slate-300'}`;
  const text = (key: PatientField, label: string, props: { wide?: boolean; mono?: boolean; placeholder?: string; type?: string } = {}) =>
    field(
      key,
      label,
      <input
        name={key}
        type={props.type ?? 'text'}
        value={form[key]}
        placeholder={props.placeholder}
        onChange={(e) => set(key, e.target.value)}
        className={`${cls(key)} ${props.mono ? 'font-mono' : ''}`}
      />,
      props.wide,
    );

  return (
    <Modal label={t(patient ? 'patients.editTitle' : 'patients.addTitle')} testId="patient-dialog" onClose={onClose}>
      <form onSubmit={submit} noValidate className="grid grid-cols-2 gap-3" data-testid="patient-form">
        {text('name_ideographic', t('patients.field.nameIdeographic'), { placeholder: '张三丰' })}
        {text('name_alphabetic', t('patients.field.nameAlphabetic'), { placeholder: 'Zhang^Sanfeng' })}
        {text('mrn', t('patients.field.mrn'), { mono: true, placeholder: t('patients.mrnGenerated') })}
        {field(
          'sex',
          t('patients.field.sex'),
          <select name="sex" value={form.sex} onChange={(e) => set('sex', e.target.value as Sex)} className={cls('sex')}>
            <option value="">{t('patients.sex.unknown')}</option>
            <option value="M">{t('patients.sex.M')}</option>
            <option value="F">{t('patients.sex.F')}</option>
            <option value="O">{t('patients.sex.O')}</option>
          </select>,
        )}
        {text('national_id', t('patients.field.nationalId'), { mono: true, placeholder: patient?.national_id ?? '' })}
        {text('birth_date', t('patients.field.birthDate'), { type: 'date' })}
        {text('phone', t('patients.field.phone'), { mono: true, placeholder: patient?.phone ?? '13800138000' })}
        {text('address', t('patients.field.address'))}
        {text('allergies', t('patients.field.allergies'), { wide: true })}
        {field(
          'notes',
          t('patients.field.notes'),
          <textarea name="notes" rows={2} value={form.notes} onChange={(e) => set('notes', e.target.value)} className={cls('notes')} />,
          true,
        )}
        {patient && <p className="col-span-2 text-xs text-slate-500">{t('patients.maskedHint')}</p>}
        {conflict && (
          <p role="alert" data-testid="patient-conflict" className="col-span-2 rounded bg-amber-50 p-2 text-amber-900">
            {t('patients.errors.version_conflict')}
            <button type="button" data-testid="patient-conflict-reload" onClick={reload} className="ml-2 rounded border border-amber-700 px-2 py-0.5 text-xs hover:bg-amber-100">
              {t('patients.reload')}
            </button>
          </p>
        )}
        {general && (
          <p role="alert" data-testid="patient-error" className="col-span-2 text-red-600">
            {general}
          </p>
        )}
        <div className="col-span-2 flex justify-end gap-2">
          <button type="button" onClick={onClose} className="rounded border border-slate-300 px-3 py-1 hover:bg-slate-100">
            {t('patients.cancel')}
          </button>
          <button type="submit" data-testid="patient-save" disabled={save.isPending || conflict} className="rounded bg-sky-700 px-3 py-1 text-white hover:bg-sky-800 disabled:opacity-50">
            {save.isPending ? t('patients.saving') : t('patients.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
