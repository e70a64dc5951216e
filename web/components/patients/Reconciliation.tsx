'use client';

import Link from 'next/link';
import { useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { useT } from '@/lib/i18n';
import { displayName } from '@/lib/patients/names';
import type { MergeResult, Patient } from '@/lib/patients/types';
import { DEFAULT_PATIENT_FILTERS, useMergePatients, usePatients, useReconciliation, useResolveReconciliation } from '@/lib/queries/patients';
import { usePersonName } from './NameOrderSwitch';
import { patientHref } from './PatientList';

/** A reconciliation value (any JSON) as text; nothing as a dash. */
function shown(value: unknown): string {
  return value === null || value === undefined || value === '' ? '—' : String(value);
}

/** A search box that picks one patient record. */
function PatientPick({ testId, label, value, onPick }: { testId: string; label: string; value: Patient | null; onPick: (p: Patient | null) => void }) {
  const t = useT();
  const order = usePersonName();
  const [q, setQ] = useState('');
  // Options only from the answer to the text typed: the previous answer (kept while the
  // next loads) lists other patients, and a click on one would pick the wrong record.
  const { data, isPlaceholderData } = usePatients({ ...DEFAULT_PATIENT_FILTERS, q: q.trim(), limit: 8 });
  const options = isPlaceholderData ? [] : (data?.items ?? []);
  const name = (p: Patient) => displayName(order, { ideographic: p.name_ideographic, alphabetic: p.name_alphabetic, pn: p.name });
  return (
    <div className="flex-1 text-xs text-slate-600">
      {label}
      {value ? (
        <div className="mt-0.5 flex items-center gap-2 rounded border border-slate-300 px-2 py-1 text-sm text-slate-900" data-testid={`${testId}-picked`}>
          {name(value)} · {value.mrn}
          <button type="button" className="ml-auto text-xs text-sky-700 hover:underline" onClick={() => onPick(null)}>
            {t('orders.changePatient')}
          </button>
        </div>
      ) : (
        <>
          <input data-testid={`${testId}-q`} value={q} maxLength={64} placeholder={t('patients.searchPlaceholder')} onChange={(e) => setQ(e.target.value)} className="mt-0.5 block w-full rounded border border-slate-300 px-2 py-1 text-sm text-slate-900" />
          {q.trim() && (
            <ul className="mt-1 max-h-40 overflow-auto rounded border border-slate-200 bg-white">
              {options.map((p) => (
                <li key={p.id}>
                  <button type="button" data-testid={`${testId}-option`} onClick={() => onPick(p)} className="block w-full px-2 py-1 text-left text-sm text-slate-900 hover:bg-sky-50">
                    {name(p)} · {p.mrn} {p.birth_date ?? ''}
                  </button>
                </li>
              ))}
            </ul>
          )}
        </>
      )}
    </div>
  );
}

/** Merge two records (the source's studies, visits and orders move to the target), with undo. */
function MergePanel() {
  const t = useT();
  const [source, setSource] = useState<Patient | null>(null);
  const [target, setTarget] = useState<Patient | null>(null);
  const [done, setDone] = useState<MergeResult | null>(null);
  const [message, setMessage] = useState<string | null>(null);
  const { merge, undo } = useMergePatients();
  const same = source && target && source.id === target.id;
  const doMerge = async () => {
    if (!source || !target || same) return;
    if (!window.confirm(t('patients.merge.confirm', { source: source.mrn, target: target.mrn }))) return;
    setMessage(null);
    try {
      setDone(await merge.mutateAsync({ source_id: source.id, target_id: target.id }));
      setSource(null);
    } catch (err) {
      setMessage(errorMessage(t, describeError(err)));
    }
  };
  const doUndo = async () => {
    if (!done) return;
    setMessage(null);
    try {
      await undo.mutateAsync(done.merge_id);
      setDone(null);
      setMessage(t('patients.merge.undone'));
    } catch (err) {
      setMessage(errorMessage(t, describeError(err)));
    }
  };
  return (
    <section className="rounded bg-white p-4 shadow-sm" data-testid="merge-panel">
      <h2 className="mb-1 font-semibold">{t('patients.merge.title')}</h2>
      <p className="mb-3 text-sm text-slate-600">{t('patients.merge.explain')}</p>
      <div className="flex flex-wrap items-start gap-3">
        <PatientPick testId="merge-source" label={t('patients.merge.source')} value={source} onPick={setSource} />
        <span className="pt-6 text-slate-400">→</span>
        <PatientPick testId="merge-target" label={t('patients.merge.target')} value={target} onPick={setTarget} />
        <button type="button" data-testid="merge-submit" disabled={!source || !target || !!same || merge.isPending} onClick={() => void doMerge()} className="mt-5 rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800 disabled:opacity-40">
          {t('patients.merge.submit')}
        </button>
      </div>
      {same && <p className="mt-2 text-sm text-red-600">{t('patients.merge.same')}</p>}
      {done && (
        <p className="mt-3 flex items-center gap-3 rounded bg-emerald-50 p-2 text-sm text-emerald-900" data-testid="merge-done">
          {t('patients.merge.done')}
          <Link href={patientHref(done.target_id)} className="text-sky-800 hover:underline">
            {t('patients.merge.openTarget')}
          </Link>
          <button type="button" data-testid="merge-undo" onClick={() => void doUndo()} disabled={undo.isPending} className="ml-auto rounded border border-emerald-700 px-2 py-0.5 hover:bg-emerald-100">
            {t('patients.merge.undo')}
          </button>
        </p>
      )}
      {message && (
        <p role="status" data-testid="merge-message" className="mt-2 text-sm text-slate-700">
          {message}
        </p>
      )}
    </section>
  );
}

/** Studies whose demographics differ from the record: keep the record, or take the DICOM values. */
export function Reconciliation() {
  const t = useT();
  const { data, error } = useReconciliation();
  const resolve = useResolveReconciliation();
  const [message, setMessage] = useState<string | null>(null);
  const act = async (itemId: number, action: 'keep_record' | 'accept_dicom') => {
    setMessage(null);
    try {
      await resolve.mutateAsync({ itemId, action });
    } catch (err) {
      setMessage(errorMessage(t, describeError(err)));
    }
  };
  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4">
      <div className="flex items-center gap-3">
        <Link href="/patients/" className="text-sm text-sky-700 hover:underline">
          ← {t('patients.back')}
        </Link>
        <h1 className="text-lg font-semibold">{t('patients.reconciliation.title')}</h1>
        <span className="text-sm text-slate-500" data-testid="reconciliation-total">
          {data ? t('patients.count', { n: data.total }) : ''}
        </span>
      </div>
      <p className="text-sm text-slate-600">{t('patients.reconciliation.explain')}</p>
      {(error || message) && (
        <p role="alert" className="text-sm text-red-600">
          {message ?? errorMessage(t, describeError(error))}
        </p>
      )}
      <section className="rounded bg-white shadow-sm">
        <table className="w-full text-sm" data-testid="reconciliation-table">
          <thead className="bg-slate-50 text-left text-slate-600">
            <tr>
              <th className="px-2 py-2 font-medium">{t('patients.reconciliation.patient')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.reconciliation.study')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.reconciliation.differences')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.reconciliation.at')}</th>
              <th className="px-2 py-2" />
            </tr>
          </thead>
          <tbody>
            {data?.items.map((r) => (
              <tr key={r.id} data-testid="reconciliation-row" className="border-t border-slate-100 align-top">
                <td className="px-2 py-1">
                  <Link href={patientHref(r.patient_id)} className="text-sky-800 hover:underline">
                    #{r.patient_id}
                  </Link>
                </td>
                <td className="max-w-48 truncate px-2 py-1 font-mono text-xs" title={r.study_instance_uid}>
                  {r.study_instance_uid}
                </td>
                <td className="px-2 py-1">
                  <ul>
                    {Object.entries(r.differences).map(([field, d]) => (
                      <li key={field}>
                        <span className="text-slate-500">{t(`patients.reconciliation.field.${field}`)}：</span>
                        {shown(d.record)} <span className="text-slate-400">≠</span> <b className="font-medium">{shown(d.dicom)}</b>
                      </li>
                    ))}
                  </ul>
                </td>
                <td className="px-2 py-1 whitespace-nowrap">{new Date(r.created_at).toLocaleString()}</td>
                <td className="px-2 py-1 whitespace-nowrap">
                  <button type="button" data-testid="keep-record" onClick={() => void act(r.id, 'keep_record')} className="mr-1 rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100">
                    {t('patients.reconciliation.keep')}
                  </button>
                  <button type="button" data-testid="accept-dicom" onClick={() => void act(r.id, 'accept_dicom')} className="rounded border border-sky-600 px-2 py-0.5 text-xs text-sky-800 hover:bg-sky-50">
                    {t('patients.reconciliation.accept')}
                  </button>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data?.items.length === 0 && <p className="p-6 text-center text-slate-500">{t('patients.reconciliation.empty')}</p>}
      </section>
      <MergePanel />
    </div>
  );
}
