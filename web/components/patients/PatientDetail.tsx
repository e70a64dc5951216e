'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useState } from 'react';
import { OrderDialog } from '@/components/orders/OrderDialog';
import { OrderTable } from '@/components/orders/OrderList';
import { historyHref } from '@/components/reports/ReportLinks';
import { viewerHref } from '@/components/worklist/Worklist';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { hasPermission, useSession } from '@/lib/auth/store';
import { ageAt, displayDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { ageLabel, displayName, sexLabel } from '@/lib/patients/names';
import { DEFAULT_ORDER_FILTERS, useOrders } from '@/lib/queries/orders';
import { useDeletePatient, usePatient, usePatientStudies, usePatientTimeline } from '@/lib/queries/patients';
import { NameOrderSwitch, usePersonName } from './NameOrderSwitch';
import { PatientDialog } from './PatientDialog';
import { VisitForm } from './VisitForm';

const KIND_STYLE: Record<string, string> = {
  visit: 'bg-violet-100 text-violet-800',
  order: 'bg-orange-100 text-orange-800',
  study: 'bg-sky-100 text-sky-800',
  report: 'bg-emerald-100 text-emerald-800',
};

function when(at: string | null): string {
  if (!at) return '';
  return /^\d{4}-\d{2}-\d{2}$/.test(at) ? at : new Date(at).toLocaleString();
}

/** One patient: the record, its timeline (visits, orders, studies, reports) and its studies. */
export function PatientDetail({ patientId }: { patientId: string }) {
  const t = useT();
  const me = useSession((s) => s.me);
  const order = usePersonName();
  const patient = usePatient(patientId);
  const studies = usePatientStudies(patientId);
  const timeline = usePatientTimeline(patientId);
  const canOrders = hasPermission(me, 'order:read');
  const orders = useOrders({ ...DEFAULT_ORDER_FILTERS, patient_id: patientId, limit: 100 }, canOrders);
  const [editing, setEditing] = useState(false);
  const [ordering, setOrdering] = useState(false);
  const [visiting, setVisiting] = useState(false);
  const router = useRouter();
  const remove = useDeletePatient();

  if (patient.error) {
    return (
      <p role="alert" className="p-8 text-red-600" data-testid="patient-load-error">
        {describeError(patient.error).status === 404 ? t('patients.errors.patient_not_found') : errorMessage(t, describeError(patient.error))}
      </p>
    );
  }
  const p = patient.data;
  if (!p) return <p className="p-8 text-slate-500">{t('common.loading')}</p>;

  const item = (label: string, value: string | null | undefined, testId?: string) => (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="text-sm text-slate-900" data-testid={testId}>
        {value || '—'}
      </dd>
    </div>
  );

  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4">
      <div className="flex items-center gap-3">
        <Link href="/patients/" className="text-sm text-sky-700 hover:underline">
          ← {t('patients.back')}
        </Link>
        <h1 className="text-lg font-semibold" data-testid="patient-title">
          {displayName(order, { ideographic: p.name_ideographic, alphabetic: p.name_alphabetic, pn: p.name })}
        </h1>
        {p.needs_reconciliation && (
          <Link href="/patients/reconciliation/" className="rounded bg-amber-100 px-2 py-0.5 text-xs text-amber-900">
            {t('patients.needsReconciliation')}
          </Link>
        )}
        <div className="ml-auto flex items-end gap-2">
          <NameOrderSwitch />
          {hasPermission(me, 'order:write') && (
            <button type="button" data-testid="order-add" onClick={() => setOrdering(true)} className="rounded border border-sky-700 px-3 py-1 text-sm text-sky-800 hover:bg-sky-50">
              {t('orders.add')}
            </button>
          )}
          {hasPermission(me, 'patient:write') && (
            <button
              type="button"
              data-testid="patient-delete"
              disabled={remove.isPending}
              onClick={() => {
                if (!window.confirm(t('patients.deleteConfirm', { mrn: p.mrn }))) return;
                remove.mutate(p.id, { onSuccess: () => router.push('/patients/') });
              }}
              className="rounded border border-red-300 px-3 py-1 text-sm text-red-700 hover:bg-red-50 disabled:opacity-50"
            >
              {t('patients.delete')}
            </button>
          )}
          {hasPermission(me, 'patient:write') && (
            <button type="button" data-testid="patient-edit" onClick={() => setEditing(true)} className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800">
              {t('patients.edit')}
            </button>
          )}
        </div>
      </div>
      {remove.error && (
        <p role="alert" className="text-sm text-red-600">
          {errorMessage(t, describeError(remove.error))}
        </p>
      )}
      <dl className="grid grid-cols-2 gap-3 rounded bg-white p-4 shadow-sm md:grid-cols-4" data-testid="patient-record">
        {item(t('patients.field.mrn'), p.mrn, 'patient-mrn')}
        {item(t('patients.col.sexAge'), [sexLabel(t, p.sex), ageLabel(t, ageAt(p.birth_date, null))].filter(Boolean).join(' / '))}
        {item(t('patients.field.birthDate'), displayDate(p.birth_date))}
        {item(t('patients.field.nationalId'), p.national_id, 'patient-national-id')}
        {item(t('patients.field.phone'), p.phone, 'patient-phone')}
        {item(t('patients.field.address'), p.address)}
        {item(t('patients.field.allergies'), p.allergies)}
        {item(t('patients.field.notes'), p.notes)}
      </dl>
      <div className="grid min-h-0 grid-cols-1 gap-3 lg:grid-cols-2">
        <section className="rounded bg-white p-4 shadow-sm">
          <div className="mb-2 flex items-center">
            <h2 className="font-semibold">{t('patients.timeline')}</h2>
            {hasPermission(me, 'patient:write') && !visiting && (
              <button type="button" data-testid="visit-add" onClick={() => setVisiting(true)} className="ml-auto text-sm text-sky-700 hover:underline">
                {t('patients.visit.add')}
              </button>
            )}
          </div>
          {visiting && <VisitForm patientId={patientId} onDone={() => setVisiting(false)} />}
          <ol className="space-y-1" data-testid="timeline">
            {timeline.data?.items.map((e, i) => (
              <li key={`${e.kind}-${String(e.ref)}-${i}`} data-testid="timeline-item" data-kind={e.kind} className="flex items-baseline gap-2 text-sm">
                <span className="w-36 shrink-0 text-xs text-slate-500 tabular-nums">{when(e.at)}</span>
                <span className={`rounded px-1.5 py-0.5 text-xs ${KIND_STYLE[e.kind] ?? ''}`}>{t(`patients.kind.${e.kind}`)}</span>
                {e.kind === 'study' && e.ref ? (
                  <Link href={viewerHref(String(e.ref))} className="text-sky-800 hover:underline">
                    {e.title}
                  </Link>
                ) : e.kind === 'report' && e.ref ? (
                  <Link href={historyHref(String(e.ref))} className="text-sky-800 hover:underline" data-testid="timeline-report">
                    {e.title}
                  </Link>
                ) : (
                  <span>{e.title}</span>
                )}
              </li>
            ))}
          </ol>
          {timeline.data?.items.length === 0 && <p className="text-sm text-slate-500">{t('patients.noTimeline')}</p>}
        </section>
        <section className="rounded bg-white p-4 shadow-sm">
          <h2 className="mb-2 font-semibold">
            {t('patients.studies')} <span className="text-sm font-normal text-slate-500">{studies.data ? t('patients.count', { n: studies.data.total }) : ''}</span>
          </h2>
          <table className="w-full text-sm" data-testid="patient-studies">
            <thead className="text-left text-slate-600">
              <tr>
                <th className="py-1 font-medium">{t('worklist.col.date')}</th>
                <th className="py-1 font-medium">{t('worklist.col.modality')}</th>
                <th className="py-1 font-medium">{t('worklist.col.description')}</th>
                <th className="py-1 font-medium">{t('worklist.col.accession')}</th>
                <th className="py-1 text-right font-medium">{t('worklist.col.images')}</th>
              </tr>
            </thead>
            <tbody>
              {studies.data?.items.map((s) => (
                <tr key={s.study_instance_uid} className="border-t border-slate-100" data-testid="patient-study">
                  <td className="py-1 whitespace-nowrap">{displayDate(s.study_date)}</td>
                  <td className="py-1">{s.modalities.join(', ')}</td>
                  <td className="py-1">
                    <Link href={viewerHref(s.study_instance_uid)} className="text-sky-800 hover:underline" data-testid="open-study">
                      {s.description || t('patients.openStudy')}
                    </Link>
                  </td>
                  <td className="py-1">{s.accession_number}</td>
                  <td className="py-1 text-right tabular-nums">{s.number_of_instances}</td>
                </tr>
              ))}
            </tbody>
          </table>
          {studies.data?.items.length === 0 && <p className="text-sm text-slate-500">{t('patients.noStudies')}</p>}
        </section>
      </div>
      {canOrders && (
        <section className="rounded bg-white p-4 shadow-sm">
          <h2 className="mb-2 font-semibold">{t('orders.title')}</h2>
          <OrderTable orders={orders.data?.items ?? []} showPatient={false} />
        </section>
      )}
      {editing && <PatientDialog patient={p} onClose={() => setEditing(false)} />}
      {ordering && <OrderDialog patient={p} onClose={() => setOrdering(false)} />}
    </div>
  );
}
