'use client';

import { useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { isoDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { SOURCES } from '@/lib/orders/types';
import type { VisitType } from '@/lib/patients/types';
import { emptyVisit, validateVisit, visitBody, type VisitErrors, type VisitForm as Form } from '@/lib/patients/visit';
import { useAddVisit } from '@/lib/queries/patients';

/** Record a visit (就诊记录): date, type, department, doctor, complaint, diagnosis, ICD-10. */
export function VisitForm({ patientId, onDone }: { patientId: string; onDone: () => void }) {
  const t = useT();
  const [form, setForm] = useState<Form>(() => emptyVisit(isoDate(new Date())));
  const [errors, setErrors] = useState<VisitErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const add = useAddVisit(patientId);
  const set = (key: keyof Form, value: string) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    const problems = validateVisit(form);
    setErrors(problems);
    if (Object.keys(problems).length) return;
    try {
      await add.mutateAsync(visitBody(form));
      onDone();
    } catch (err) {
      setGeneral(errorMessage(t, describeError(err)));
    }
  };
  const cls = 'mt-0.5 block w-full rounded border border-slate-300 px-2 py-1 text-sm text-slate-900';
  const input = (key: keyof Form, label: string, type = 'text') => (
    <label className="block text-xs text-slate-600">
      {label}
      <input name={key} type={type} value={form[key]} onChange={(e) => set(key, e.target.value)} className={cls} />
      {errors[key] && (
        <span role="alert" className="mt-0.5 block text-red-600" data-testid={`visit-error-${key}`}>
          {t(`patients.visit.invalid.${errors[key]}`)}
        </span>
      )}
    </label>
  );
  return (
    <form onSubmit={submit} noValidate className="mb-3 grid grid-cols-2 gap-2 rounded border border-slate-200 p-3" data-testid="visit-form">
      {input('visit_date', t('patients.visit.date'), 'date')}
      <label className="block text-xs text-slate-600">
        {t('patients.visit.type')}
        <select name="visit_type" value={form.visit_type} onChange={(e) => set('visit_type', e.target.value as VisitType)} className={cls}>
          {SOURCES.map((s) => (
            <option key={s} value={s}>
              {t(`orders.source.${s}`)}
            </option>
          ))}
        </select>
      </label>
      {input('department', t('patients.visit.department'))}
      {input('attending_doctor', t('patients.visit.doctor'))}
      {input('chief_complaint', t('patients.visit.complaint'))}
      {input('diagnosis', t('patients.visit.diagnosis'))}
      {input('icd10_code', t('patients.visit.icd10'))}
      <div className="flex items-end justify-end gap-2">
        {general && (
          <span role="alert" className="mr-auto text-sm text-red-600">
            {general}
          </span>
        )}
        <button type="button" onClick={onDone} className="rounded border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100">
          {t('patients.cancel')}
        </button>
        <button type="submit" data-testid="visit-save" disabled={add.isPending} className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800 disabled:opacity-50">
          {t('patients.save')}
        </button>
      </div>
    </form>
  );
}
