'use client';

import { useState, type FormEvent } from 'react';
import { auditParams, EMPTY_AUDIT_FILTERS, formatDateTime, type AuditFilters } from '@/lib/admin/format';
import { adminErrorMessage } from '@/lib/admin/messages';
import { downloadAuditCsv, useAuditEvents, verifyAuditChain } from '@/lib/admin/queries';
import type { AuditVerify } from '@/lib/admin/types';
import { describeError } from '@/lib/api/errors';
import { useT } from '@/lib/i18n';
import { BUTTON, INPUT, PRIMARY } from './AdminLayout';

const PAGE = 50;
const OUTCOMES = ['0', '4', '8', '12'];

function ChainResult({ result }: { result: AuditVerify }) {
  const t = useT();
  return result.ok ? (
    <span className="text-emerald-700" data-testid="audit-verify-result" data-ok="true">
      ✓ {t('admin.audit.chainOk', { n: result.checked, unsealed: result.unsealed })}
    </span>
  ) : (
    <span className="text-red-700" data-testid="audit-verify-result" data-ok="false">
      ✗ {t('admin.audit.chainBroken', { seq: result.broken_seq ?? '?' })}
    </span>
  );
}

/** The audit trail: filters, pages of 50, CSV export of the filtered events, chain check. */
export function AuditLog() {
  const t = useT();
  const [form, setForm] = useState<AuditFilters>(EMPTY_AUDIT_FILTERS);
  const [params, setParams] = useState<Record<string, string>>({});
  const [offset, setOffset] = useState(0);
  const [verify, setVerify] = useState<AuditVerify | null>(null);
  const [busy, setBusy] = useState<'verify' | 'csv' | null>(null);
  const [actionError, setActionError] = useState<string | null>(null);
  const { data, error, isFetching } = useAuditEvents(params, PAGE, offset);

  const set = (key: keyof AuditFilters, value: string) => setForm((f) => ({ ...f, [key]: value }));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setParams(auditParams(form));
    setOffset(0);
  };
  const run = async (kind: 'verify' | 'csv') => {
    setBusy(kind);
    setActionError(null);
    try {
      if (kind === 'verify') setVerify(await verifyAuditChain());
      else await downloadAuditCsv(params);
    } catch (err) {
      setActionError(adminErrorMessage(t, describeError(err)));
    } finally {
      setBusy(null);
    }
  };
  const total = data?.total ?? 0;

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.audit')}</h1>
        <span className="text-sm text-slate-500" data-testid="audit-total">
          {t('admin.audit.count', { n: total })}
        </span>
        <div className="ml-auto flex items-center gap-2">
          {verify && <ChainResult result={verify} />}
          <button type="button" data-testid="audit-verify" className={BUTTON} disabled={busy !== null} onClick={() => void run('verify')}>
            {busy === 'verify' ? t('admin.audit.verifying') : t('admin.audit.verify')}
          </button>
          <button type="button" data-testid="audit-csv" className={BUTTON} disabled={busy !== null} onClick={() => void run('csv')}>
            {t('admin.audit.exportCsv')}
          </button>
        </div>
      </div>
      <form onSubmit={apply} className="flex flex-wrap items-end gap-2 text-sm" data-testid="audit-filters">
        {(['actor', 'patient_id', 'action'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`admin.audit.filter.${key}`)}</span>
            <input name={key} value={form[key]} onChange={(e) => set(key, e.target.value)} className={`${INPUT} w-40`} />
          </label>
        ))}
        <label className="flex flex-col">
          <span className="text-slate-600">{t('admin.audit.filter.outcome')}</span>
          <select name="outcome" value={form.outcome} onChange={(e) => set('outcome', e.target.value)} className={`${INPUT} w-32`}>
            <option value="">{t('admin.audit.any')}</option>
            {OUTCOMES.map((o) => (
              <option key={o} value={o}>
                {t(`admin.audit.outcome.${o}`)}
              </option>
            ))}
          </select>
        </label>
        {(['since', 'until'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`admin.audit.filter.${key}`)}</span>
            <input type="datetime-local" name={key} value={form[key]} onChange={(e) => set(key, e.target.value)} className={INPUT} />
          </label>
        ))}
        <button type="submit" data-testid="audit-search" className={PRIMARY}>
          {t('admin.audit.search')}
        </button>
      </form>
      {(error || actionError) && (
        <p role="alert" className="text-sm text-red-600">
          {actionError ?? adminErrorMessage(t, describeError(error))}
        </p>
      )}
      <table className={`w-full rounded bg-white text-sm shadow-sm ${isFetching ? 'opacity-70' : ''}`} data-testid="audit-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {['time', 'actor', 'action', 'outcome', 'patient', 'resource', 'address'].map((c) => (
              <th key={c} className="px-2 py-2 text-left font-medium">
                {t(`admin.audit.col.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data?.items.map((e) => (
            <tr key={e.id} data-testid="audit-row" data-action={e.action} data-outcome={e.outcome} className="border-t border-slate-100 align-top">
              <td className="px-2 py-1 whitespace-nowrap">{formatDateTime(e.occurred_at)}</td>
              <td className="px-2 py-1 font-mono" translate="no">{e.actor_username ?? '—'}</td>
              <td className="px-2 py-1 font-mono" translate="no" title={JSON.stringify(e.detail)}>
                {e.action}
              </td>
              <td className="px-2 py-1">
                <span className={e.outcome === 0 ? 'text-emerald-700' : 'text-red-700'}>
                  {t(`admin.audit.outcome.${e.outcome}`)}
                </span>
              </td>
              <td className="px-2 py-1 font-mono" translate="no">{e.patient_id ?? ''}</td>
              <td className="px-2 py-1 font-mono text-xs" translate="no">{e.resource_type ? `${e.resource_type} ${e.resource_id ?? ''}` : ''}</td>
              <td className="px-2 py-1 font-mono text-xs" translate="no">{e.client_ip ?? ''}</td>
            </tr>
          ))}
        </tbody>
      </table>
      <div className="flex items-center gap-2 text-sm">
        <button type="button" data-testid="audit-prev" className={BUTTON} disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          {t('admin.audit.prev')}
        </button>
        <span data-testid="audit-page">
          {t('admin.audit.page', { from: total === 0 ? 0 : offset + 1, to: Math.min(total, offset + PAGE), total })}
        </span>
        <button type="button" data-testid="audit-next" className={BUTTON} disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          {t('admin.audit.next')}
        </button>
      </div>
    </div>
  );
}
