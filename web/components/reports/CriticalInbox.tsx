'use client';

import Link from 'next/link';
import { useSearchParams } from 'next/navigation';
import { useState } from 'react';
import { Pager } from '@/components/shell/Pager';
import { viewerHref } from '@/components/worklist/Worklist';
import { useSession } from '@/lib/auth/store';
import { displayDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { ackSummary, formatDuration, timeToAcknowledge, waitingFor } from '@/lib/reports/critical';
import { errorText, useAcknowledge, useCriticalCounts, useCriticalResults, type CriticalItem } from '@/lib/reports/pageQueries';

const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : '—');

/** 危急值: the open ones to acknowledge and the closed ones, with how long acknowledging took. */
export function CriticalInbox() {
  const t = useT();
  const highlight = useSearchParams().get('id');
  const [open, setOpen] = useState(true);
  const [offset, setOffset] = useState(0);
  const [limit, setLimit] = useState(25);
  const list = useCriticalResults(open, offset, limit);
  const counts = useCriticalCounts().data;
  const items = list.data?.items ?? [];
  const summary = ackSummary(items);
  const tab = (value: boolean, label: string, n: number | undefined) => (
    <button
      type="button"
      role="tab"
      aria-selected={open === value}
      onClick={() => {
        setOpen(value);
        setOffset(0);
      }}
      className={`rounded-t px-4 py-1.5 text-sm ${open === value ? 'bg-white font-medium shadow-sm' : 'text-slate-600 hover:bg-white/60'}`}
      data-testid={`critical-tab-${value ? 'open' : 'closed'}`}
    >
      {label} {n !== undefined && <span className="tabular-nums">({n})</span>}
    </button>
  );

  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4" data-testid="critical-inbox">
      <h1 className="text-lg font-semibold">{t('critical.title')}</h1>
      <dl className="grid grid-cols-2 gap-3 rounded bg-white p-3 text-sm shadow-sm md:grid-cols-4" data-testid="critical-summary">
        <Stat label={t('critical.summary.open')} value={counts?.open ?? '—'} testId="critical-open-count" />
        <Stat label={t('critical.summary.closed')} value={counts?.closed ?? '—'} testId="critical-closed-count" />
        <Stat label={t('critical.summary.median', { n: summary.acknowledged })} value={formatDuration(summary.medianMs, t)} testId="critical-median" />
        <Stat label={t('critical.summary.max', { n: summary.acknowledged })} value={formatDuration(summary.maxMs, t)} testId="critical-max" />
      </dl>
      <div role="tablist" aria-label={t('critical.title')} className="flex gap-1">
        {tab(true, t('critical.tabs.open'), counts?.open)}
        {tab(false, t('critical.tabs.closed'), counts?.closed)}
      </div>
      <section className="-mt-3 rounded bg-white p-3 shadow-sm" role="tabpanel">
        {list.error && <p role="alert" className="text-sm text-red-600">{errorText(t, list.error)}</p>}
        <div className="overflow-x-auto">
          <CriticalTable items={items} open={open} highlight={highlight} />
        </div>
        {list.data && items.length === 0 && <p className="py-3 text-sm text-slate-500" data-testid="critical-empty">{open ? t('critical.noneOpen') : t('critical.noneClosed')}</p>}
        <div className="mt-2">
          <Pager total={list.data?.total ?? 0} offset={offset} limit={limit} onOffset={setOffset} onLimit={(n) => { setLimit(n); setOffset(0); }} busy={list.isFetching} totalTestId="critical-range" />
        </div>
      </section>
    </div>
  );
}

function Stat({ label, value, testId }: { label: string; value: string | number; testId: string }) {
  return (
    <div>
      <dt className="text-xs text-slate-500">{label}</dt>
      <dd className="text-base font-medium tabular-nums" data-testid={testId}>{value}</dd>
    </div>
  );
}

function CriticalTable({ items, open, highlight }: { items: CriticalItem[]; open: boolean; highlight: string | null }) {
  const t = useT();
  const th = 'px-2 py-1 font-medium whitespace-nowrap';
  return (
    <table className="w-full text-sm" data-testid="critical-table">
      <thead className="text-left text-slate-600">
        <tr>
          <th className={th}>{t('critical.col.patient')}</th>
          <th className={th}>{t('critical.col.study')}</th>
          <th className={th}>{t('critical.col.finding')}</th>
          <th className={th}>{t('critical.col.flagged')}</th>
          <th className={th}>{t('critical.col.contact')}</th>
          <th className={th}>{t('critical.col.acknowledged')}</th>
          <th className={th}>{open ? t('critical.col.waiting') : t('critical.col.timeToAck')}</th>
          {open && <th className={th}><span className="sr-only">{t('critical.acknowledge')}</span></th>}
        </tr>
      </thead>
      <tbody>
        {items.map((item) => (
          <CriticalRow key={item.id} item={item} open={open} highlighted={item.id === highlight} />
        ))}
      </tbody>
    </table>
  );
}

function CriticalRow({ item, open, highlighted }: { item: CriticalItem; open: boolean; highlighted: boolean }) {
  const t = useT();
  const me = useSession((s) => s.me);
  const ack = useAcknowledge();
  const [err, setErr] = useState<string | null>(null);
  const isContact = !!me && item.contacts.includes(me.id);
  const took = open ? waitingFor(item, Date.now()) : timeToAcknowledge(item);
  const acknowledge = async () => {
    setErr(null);
    try {
      await ack.mutateAsync(item.id);
    } catch (e) {
      setErr(errorText(t, e));
    }
  };
  const td = 'px-2 py-1.5 align-top';
  return (
    <tr className={`border-t border-slate-100 ${highlighted ? 'bg-amber-50' : ''}`} data-testid="critical-row" data-id={item.id}>
      <td className={td} translate="no">
        <div data-testid="critical-patient">{item.patient_name || '—'}</div>
        <div className="text-xs text-slate-500">{item.patient_id}</div>
      </td>
      <td className={td}>
        <Link href={viewerHref(item.study_instance_uid)} className="text-sky-800 hover:underline">
          {item.study_description || item.accession_number || t('critical.openStudy')}
        </Link>
        <div className="text-xs text-slate-500" translate="no">
          {[item.modality, displayDate(item.study_date), item.accession_number].filter(Boolean).join(' · ')}
        </div>
      </td>
      <td className={`${td} max-w-xs whitespace-pre-wrap text-red-800`} data-testid="critical-finding">{item.finding}</td>
      <td className={td}>
        <div translate="no">{item.flagged_by_name}</div>
        <div className="text-xs text-slate-500">{when(item.flagged_at)}</div>
      </td>
      <td className={td}>
        <div translate="no">{item.current_contact_name}</div>
        <div className={`text-xs ${item.escalation_level > 0 ? 'font-medium text-amber-700' : 'text-slate-500'}`} data-testid="critical-level">
          {item.escalation_level > 0 ? t('critical.escalated', { n: item.escalation_level }) : t('critical.firstContact')}
        </div>
      </td>
      <td className={td}>
        <div translate="no" data-testid="critical-acked-by">{item.acknowledged_by_name ?? '—'}</div>
        <div className="text-xs text-slate-500" data-testid="critical-acked-at">{when(item.acknowledged_at)}</div>
      </td>
      <td className={`${td} whitespace-nowrap tabular-nums`} data-testid="critical-time">
        {formatDuration(took, t)}
      </td>
      {open && (
        <td className={td}>
          {isContact && (
            <button type="button" disabled={ack.isPending} onClick={() => void acknowledge()} className="rounded bg-red-700 px-3 py-1 text-sm whitespace-nowrap text-white hover:bg-red-800 disabled:opacity-50" data-testid="critical-ack">
              {t('critical.acknowledge')}
            </button>
          )}
          {err && <p role="alert" className="mt-1 text-xs text-red-600">{err}</p>}
        </td>
      )}
    </tr>
  );
}
