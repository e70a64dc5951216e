'use client';

import { useState, type FormEvent } from 'react';
import { EMPTY_HL7_FILTERS, formatDateTime, hl7Params, type Hl7Filters } from '@/lib/admin/format';
import { adminErrorMessage } from '@/lib/admin/messages';
import { useHl7Message, useHl7Messages, useReprocessHl7 } from '@/lib/admin/queries';
import type { Hl7MessageDetail, Hl7Reprocess } from '@/lib/admin/types';
import { describeError } from '@/lib/api/errors';
import { useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { BUTTON, INPUT, PRIMARY } from './AdminLayout';

const PAGE = 50;
const ACK_CODES = ['AA', 'AE', 'AR'] as const;
const BADGE: Record<string, string> = {
  AA: 'bg-emerald-100 text-emerald-800 ring-emerald-300',
  AE: 'bg-amber-100 text-amber-900 ring-amber-300',
  AR: 'bg-red-100 text-red-800 ring-red-300',
};

/** The acknowledgement as a coloured badge with its words (已接收 / 已拒绝 / 无法解析) and code. */
export function AckBadge({ code }: { code: string }) {
  const t = useT();
  return (
    <span
      data-testid="hl7-ack"
      data-ack={code}
      className={`inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs font-medium ring-1 ring-inset ${BADGE[code] ?? 'bg-slate-100 text-slate-700 ring-slate-300'}`}
    >
      {t(`admin.hl7.ack.${code}`)}
      <span className="font-mono opacity-70" translate="no">
        {code}
      </span>
    </span>
  );
}

function Segments({ message }: { message: Hl7MessageDetail }) {
  const t = useT();
  const [raw, setRaw] = useState(false);
  return (
    <div className="flex flex-col gap-2">
      <table className="w-full text-xs" data-testid="hl7-segments">
        <tbody>
          {message.segments.map((s, i) => (
            <tr key={i} data-testid="hl7-segment" data-segment={s.name} className="border-t border-slate-100 align-top">
              <th className="w-12 px-2 py-1 text-left font-mono text-sky-800" translate="no">
                {s.name}
              </th>
              <td className="px-2 py-1">
                <div className="flex flex-wrap gap-x-3 gap-y-0.5 font-mono" translate="no">
                  {s.fields.map((f, j) =>
                    f === '' ? null : (
                      <span key={j} title={`${s.name}-${j + 1}`}>
                        <span className="text-slate-400">{j + 1}:</span> {f}
                      </span>
                    ),
                  )}
                </div>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      <button type="button" className={`${BUTTON} self-start`} data-testid="hl7-raw-toggle" onClick={() => setRaw(!raw)}>
        {raw ? t('admin.hl7.hideRaw') : t('admin.hl7.showRaw')}
      </button>
      {raw && (
        <pre className="overflow-auto rounded bg-slate-900 p-2 text-xs text-slate-100" data-testid="hl7-raw" translate="no">
          {message.raw.split(/\r\n|\r|\n/).join('\n')}
        </pre>
      )}
    </div>
  );
}

function Detail({ id, onClose }: { id: number; onClose: () => void }) {
  const t = useT();
  const me = useSession((s) => s.me);
  const { data, error } = useHl7Message(id);
  const reprocess = useReprocessHl7();
  const [result, setResult] = useState<Hl7Reprocess | null>(null);
  const mayReprocess = (me?.permissions ?? []).includes('system:admin');
  const run = async () => {
    if (!window.confirm(t('admin.hl7.reprocessConfirm'))) return;
    try {
      setResult(await reprocess.mutateAsync(id));
    } catch {
      setResult(null); // the refusal is shown from reprocess.error
    }
  };
  return (
    <section className="rounded bg-white p-3 text-sm shadow-sm" data-testid="hl7-detail" data-id={id} aria-label={t('admin.hl7.detail')}>
      <div className="mb-2 flex flex-wrap items-center gap-3">
        <h2 className="font-semibold">{t('admin.hl7.detail')}</h2>
        {data && (
          <>
            <AckBadge code={data.ack_code} />
            <span className="font-mono" translate="no">
              {data.message_type} · {data.control_id}
            </span>
            {data.reason && (
              <span className="text-slate-700" data-testid="hl7-detail-reason">
                {data.reason}
              </span>
            )}
          </>
        )}
        <div className="ml-auto flex items-center gap-2">
          {data?.reprocessable && mayReprocess && (
            <button type="button" className={BUTTON} data-testid="hl7-reprocess" disabled={reprocess.isPending} onClick={() => void run()}>
              {t('admin.hl7.reprocess')}
            </button>
          )}
          <button type="button" className={BUTTON} data-testid="hl7-detail-close" onClick={onClose}>
            {t('admin.close')}
          </button>
        </div>
      </div>
      {result && (
        <p className="mb-2" data-testid="hl7-reprocess-result">
          {t('admin.hl7.reprocessed')} <AckBadge code={result.ack_code} /> {result.reason_code === 'duplicate' ? t('admin.hl7.duplicate') : result.reason}
        </p>
      )}
      {(error || reprocess.error) && (
        <p role="alert" className="text-red-600">
          {adminErrorMessage(t, describeError(error ?? reprocess.error))}
        </p>
      )}
      <p className="mb-2 text-xs text-slate-500">{t('admin.hl7.auditNote')}</p>
      {data && <Segments message={data} />}
    </section>
  );
}

/** The HL7 messages received: filters, pages of 50, one message segment by segment. */
export function Hl7Messages() {
  const t = useT();
  const [form, setForm] = useState<Hl7Filters>(EMPTY_HL7_FILTERS);
  const [params, setParams] = useState<Record<string, string>>({});
  const [offset, setOffset] = useState(0);
  const [open, setOpen] = useState<number | null>(null);
  const { data, error, isFetching } = useHl7Messages(params, PAGE, offset);

  const set = (key: keyof Hl7Filters, value: string) => setForm((f) => ({ ...f, [key]: value }));
  const apply = (e: FormEvent) => {
    e.preventDefault();
    setParams(hl7Params(form));
    setOffset(0);
  };
  const total = data?.total ?? 0;

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.hl7')}</h1>
        <span className="text-sm text-slate-500" data-testid="hl7-total">
          {t('admin.hl7.count', { n: total })}
        </span>
      </div>
      <form onSubmit={apply} className="flex flex-wrap items-end gap-2 text-sm" data-testid="hl7-filters">
        <label className="flex flex-col">
          <span className="text-slate-600">{t('admin.hl7.filter.ack_code')}</span>
          <select name="ack_code" value={form.ack_code} onChange={(e) => set('ack_code', e.target.value)} className={`${INPUT} w-32`}>
            <option value="">{t('admin.hl7.any')}</option>
            {ACK_CODES.map((c) => (
              <option key={c} value={c}>
                {t(`admin.hl7.ack.${c}`)}
              </option>
            ))}
          </select>
        </label>
        {(['message_type', 'sending_application', 'control_id'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`admin.hl7.filter.${key}`)}</span>
            <input name={key} value={form[key]} onChange={(e) => set(key, e.target.value)} className={`${INPUT} w-36`} />
          </label>
        ))}
        {(['since', 'until'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`admin.hl7.filter.${key}`)}</span>
            <input type="datetime-local" name={key} value={form[key]} onChange={(e) => set(key, e.target.value)} className={INPUT} />
          </label>
        ))}
        <button type="submit" data-testid="hl7-search" className={PRIMARY}>
          {t('admin.hl7.search')}
        </button>
      </form>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {adminErrorMessage(t, describeError(error))}
        </p>
      )}
      <table className={`w-full rounded bg-white text-sm shadow-sm ${isFetching ? 'opacity-70' : ''}`} data-testid="hl7-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {['time', 'sender', 'type', 'control', 'ack', 'reason', 'peer', 'actions'].map((c) => (
              <th key={c} className="px-2 py-2 text-left font-medium">
                {t(`admin.hl7.col.${c}`)}
              </th>
            ))}
          </tr>
        </thead>
        <tbody>
          {data?.items.map((m) => (
            <tr
              key={m.id}
              data-testid="hl7-row"
              data-id={m.id}
              data-ack={m.ack_code}
              className={`border-t border-slate-100 align-top ${open === m.id ? 'bg-sky-50' : ''}`}
            >
              <td className="px-2 py-1 whitespace-nowrap">{formatDateTime(m.received_at)}</td>
              <td className="px-2 py-1 font-mono" translate="no">{m.sending_application}</td>
              <td className="px-2 py-1 font-mono" translate="no">{m.message_type}</td>
              <td className="px-2 py-1 font-mono" translate="no">{m.control_id}</td>
              <td className="px-2 py-1">
                <AckBadge code={m.ack_code} />
              </td>
              <td className="px-2 py-1" data-testid="hl7-reason">
                {m.reason}
                {m.reason_code && (
                  <span className="ml-1 font-mono text-xs text-slate-400" translate="no">
                    {m.reason_code}
                  </span>
                )}
              </td>
              <td className="px-2 py-1 font-mono text-xs" translate="no">{m.peer}</td>
              <td className="px-2 py-1">
                <button type="button" className={BUTTON} data-testid="hl7-open" onClick={() => setOpen(m.id)}>
                  {t('admin.view')}
                </button>
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {data && data.items.length === 0 && <p className="text-sm text-slate-500">{t('admin.hl7.empty')}</p>}
      <div className="flex items-center gap-2 text-sm">
        <button type="button" data-testid="hl7-prev" className={BUTTON} disabled={offset === 0} onClick={() => setOffset(Math.max(0, offset - PAGE))}>
          {t('admin.audit.prev')}
        </button>
        <span data-testid="hl7-page">
          {t('admin.audit.page', { from: total === 0 ? 0 : offset + 1, to: Math.min(total, offset + PAGE), total })}
        </span>
        <button type="button" data-testid="hl7-next" className={BUTTON} disabled={offset + PAGE >= total} onClick={() => setOffset(offset + PAGE)}>
          {t('admin.audit.next')}
        </button>
      </div>
      {open !== null && <Detail key={open} id={open} onClose={() => setOpen(null)} />}
    </div>
  );
}
