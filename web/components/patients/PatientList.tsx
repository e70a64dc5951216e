'use client';

import Link from 'next/link';
import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { Pager } from '@/components/shell/Pager';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { hasPermission, useSession } from '@/lib/auth/store';
import { ageAt, displayDate, displayDateTime } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { ageLabel, displayName, sexLabel } from '@/lib/patients/names';
import { DEFAULT_PATIENT_FILTERS, usePatients, useRestorePatient, type PatientFilters } from '@/lib/queries/patients';
import { NameOrderSwitch, usePersonName } from './NameOrderSwitch';
import { PatientDialog } from './PatientDialog';

const SORTS = ['name', 'mrn', 'birth_date', '-created_at'] as const;

export function patientHref(id: number | string): string {
  return `/patients/detail/?id=${encodeURIComponent(String(id))}`;
}

/** Search (MRN, name in hanzi / pinyin / initials, national ID, phone), filters, paging, total. */
export function PatientList() {
  const t = useT();
  const router = useRouter();
  const me = useSession((s) => s.me);
  const order = usePersonName();
  const [filters, setFilters] = useState<PatientFilters>(DEFAULT_PATIENT_FILTERS);
  const [q, setQ] = useState('');
  const [creating, setCreating] = useState(false);
  useEffect(() => {
    const id = setTimeout(() => setFilters((f) => (f.q === q.trim() ? f : { ...f, q: q.trim(), offset: 0 })), 300);
    return () => clearTimeout(id);
  }, [q]);
  const { data, isFetching, error } = usePatients(filters);
  const update = (patch: Partial<PatientFilters>) => setFilters((f) => ({ ...f, ...patch, offset: 0 }));
  const canWrite = hasPermission(me, 'patient:write');
  const deleted = !!filters.deleted;
  const restore = useRestorePatient();
  const [restored, setRestored] = useState<string | null>(null);
  const onRestore = async (patientId: number, name: string) => {
    if (!window.confirm(t('patients.restoreConfirm', { name }))) return;
    setRestored(null);
    try {
      const p = await restore.mutateAsync(patientId);
      setRestored(t('patients.restored', { mrn: p.mrn }));
    } catch {
      setRestored(null); // the refusal is shown from restore.error
    }
  };
  const total = data?.total ?? 0;
  const input = 'mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900';

  return (
    <div className="flex h-full flex-col gap-3 p-4">
      <div className="flex flex-wrap items-end gap-2 rounded bg-white p-3 shadow-sm">
        <label className="text-xs text-slate-600">
          {t('patients.search')}
          <input data-testid="patient-q" value={q} maxLength={64} placeholder={t('patients.searchPlaceholder')} onChange={(e) => setQ(e.target.value)} className={`${input} w-72`} />
        </label>
        <label className="text-xs text-slate-600">
          {t('patients.field.sex')}
          <select data-testid="patient-sex" value={filters.sex} onChange={(e) => update({ sex: e.target.value })} className={input}>
            <option value="">{t('patients.all')}</option>
            <option value="M">{t('patients.sex.M')}</option>
            <option value="F">{t('patients.sex.F')}</option>
            <option value="O">{t('patients.sex.O')}</option>
          </select>
        </label>
        <label className="text-xs text-slate-600">
          {t('patients.field.birthDate')}
          <input type="date" data-testid="patient-birth" value={filters.birth_date} onChange={(e) => update({ birth_date: e.target.value })} className={input} />
        </label>
        <label className="text-xs text-slate-600">
          {t('patients.sort')}
          <select data-testid="patient-sort" value={filters.sort} onChange={(e) => update({ sort: e.target.value })} className={input}>
            {SORTS.map((s) => (
              <option key={s} value={s}>
                {t(`patients.sortBy.${s.replace('-', '')}`)}
              </option>
            ))}
          </select>
        </label>
        <NameOrderSwitch />
        {canWrite && (
          <label className="flex items-center gap-1 self-center text-sm text-slate-700">
            <input
              type="checkbox"
              data-testid="patient-show-deleted"
              checked={deleted}
              onChange={(e) => {
                setRestored(null);
                update({ deleted: e.target.checked });
              }}
            />
            {t('patients.showDeleted')}
          </label>
        )}
        <div className="ml-auto flex gap-2">
          {hasPermission(me, 'patient:write') && (
            <Link href="/patients/reconciliation/" data-testid="link-reconciliation" className="rounded border border-slate-300 px-3 py-1 text-sm hover:bg-slate-100">
              {t('patients.reconciliation.title')}
            </Link>
          )}
          {canWrite && (
            <button type="button" data-testid="patient-add" onClick={() => setCreating(true)} className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800">
              {t('patients.add')}
            </button>
          )}
        </div>
      </div>
      {(error || restore.error) && (
        <p role="alert" className="text-sm text-red-600">
          {errorMessage(t, describeError(error ?? restore.error))}
        </p>
      )}
      {deleted && <p className="text-sm text-slate-600">{t('patients.deletedHint')}</p>}
      {restored && (
        <p role="status" className="text-sm text-emerald-700" data-testid="patient-restored">
          {restored}
        </p>
      )}
      <div className="min-h-0 flex-1 overflow-auto rounded bg-white shadow-sm">
        <table className="w-full text-sm" data-testid="patient-table">
          <thead className="sticky top-0 bg-slate-50 text-left text-slate-600">
            <tr>
              <th className="px-2 py-2 font-medium">{t('patients.field.name')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.field.mrn')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.col.sexAge')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.field.birthDate')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.field.nationalId')}</th>
              <th className="px-2 py-2 font-medium">{t('patients.field.phone')}</th>
              <th className="px-2 py-2 font-medium" />
            </tr>
          </thead>
          <tbody>
            {data?.items.map((p) => {
              const name = displayName(order, { ideographic: p.name_ideographic, alphabetic: p.name_alphabetic, pn: p.name });
              return (
              <tr
                key={p.id}
                data-testid="patient-row"
                data-patient-id={p.id}
                tabIndex={0}
                data-deleted={deleted ? 'true' : undefined}
                onDoubleClick={() => !deleted && router.push(patientHref(p.id))}
                onKeyDown={(e) => !deleted && e.key === 'Enter' && router.push(patientHref(p.id))}
                className="border-t border-slate-100 hover:bg-slate-50"
              >
                <td className="px-2 py-1 font-medium">
                  {deleted ? (
                    <span className="text-slate-600 line-through decoration-slate-400">{name}</span>
                  ) : (
                    <Link href={patientHref(p.id)} className="text-sky-800 hover:underline" data-testid="patient-link">
                      {name}
                    </Link>
                  )}
                </td>
                <td className="px-2 py-1 font-mono">{p.mrn}</td>
                <td className="px-2 py-1 whitespace-nowrap">
                  {[sexLabel(t, p.sex), ageLabel(t, ageAt(p.birth_date, null))].filter(Boolean).join(' / ')}
                </td>
                <td className="px-2 py-1 whitespace-nowrap">{displayDate(p.birth_date)}</td>
                <td className="px-2 py-1 font-mono">{p.national_id}</td>
                <td className="px-2 py-1 font-mono">{p.phone}</td>
                <td className="px-2 py-1 whitespace-nowrap">
                  {deleted && (
                    <span className="flex items-center gap-2">
                      <span className="text-xs text-slate-500">{t('patients.deletedAt', { at: displayDateTime(p.deleted_at) })}</span>
                      <button
                        type="button"
                        data-testid="patient-restore"
                        disabled={restore.isPending}
                        onClick={() => void onRestore(p.id, name)}
                        className="rounded border border-sky-700 px-2 py-0.5 text-xs text-sky-800 hover:bg-sky-50 disabled:opacity-50"
                      >
                        {t('patients.restore')}
                      </button>
                    </span>
                  )}
                  {p.needs_reconciliation && (
                    <span className="rounded bg-amber-100 px-1.5 py-0.5 text-xs text-amber-900" data-testid="needs-reconciliation">
                      {t('patients.needsReconciliation')}
                    </span>
                  )}
                </td>
              </tr>
              );
            })}
          </tbody>
        </table>
        {data && data.items.length === 0 && (
          <p className="p-8 text-center text-slate-500" data-testid="no-patients">
            {t('patients.empty')}
          </p>
        )}
      </div>
      <Pager total={total} totalExact={data?.total_exact ?? true} offset={filters.offset} limit={filters.limit} busy={isFetching} totalTestId="patient-total" onOffset={(offset) => setFilters((f) => ({ ...f, offset }))} />
      {creating && <PatientDialog patient={null} onClose={() => setCreating(false)} onSaved={(p) => router.push(patientHref(p.id))} />}
    </div>
  );
}
