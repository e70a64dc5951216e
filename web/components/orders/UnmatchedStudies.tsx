'use client';

import { useState } from 'react';
import { usePersonName } from '@/components/patients/NameOrderSwitch';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { displayDate } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { displayName } from '@/lib/patients/names';
import { DEFAULT_ORDER_FILTERS, useMatchOrder, useOrders, useUnmatchedStudies } from '@/lib/queries/orders';

/** Arrived studies no order matched (by accession, then patient + modality + date): match by hand. */
export function UnmatchedStudies({ canWrite }: { canWrite: boolean }) {
  const t = useT();
  const nameOrder = usePersonName();
  const unmatched = useUnmatchedStudies(true);
  const open = useOrders({ ...DEFAULT_ORDER_FILTERS, status: 'scheduled', limit: 200 }, canWrite);
  const match = useMatchOrder();
  const [choice, setChoice] = useState<Record<string, string>>({});
  const [error, setError] = useState<string | null>(null);
  if (!unmatched.data || unmatched.data.total === 0) return null;
  const doMatch = async (studyUid: string) => {
    const orderId = Number(choice[studyUid]);
    if (!orderId) return;
    setError(null);
    try {
      await match.mutateAsync({ orderId, studyUid });
      void unmatched.refetch();
    } catch (err) {
      setError(errorMessage(t, describeError(err)));
    }
  };
  return (
    <section className="rounded bg-white p-3 shadow-sm" data-testid="unmatched-studies">
      <h2 className="mb-2 text-sm font-semibold">
        {t('orders.unmatched.title')} <span className="font-normal text-slate-500">{t('patients.count', { n: unmatched.data.total })}</span>
      </h2>
      {error && (
        <p role="alert" className="mb-2 text-sm text-red-600">
          {error}
        </p>
      )}
      <table className="w-full text-sm">
        <tbody>
          {unmatched.data.items.map((s) => (
            <tr key={s.study_instance_uid} className="border-t border-slate-100" data-testid="unmatched-row">
              <td className="px-2 py-1">{displayName(nameOrder, { pn: s.patient_name })}</td>
              <td className="px-2 py-1">{s.patient_id}</td>
              <td className="px-2 py-1 font-mono">{s.accession_number}</td>
              <td className="px-2 py-1">{displayDate(s.study_date)}</td>
              <td className="px-2 py-1">{s.modalities.join(', ')}</td>
              {canWrite && (
                <td className="px-2 py-1 whitespace-nowrap">
                  <select
                    aria-label={t('orders.unmatched.order')}
                    value={choice[s.study_instance_uid] ?? ''}
                    onChange={(e) => setChoice((c) => ({ ...c, [s.study_instance_uid]: e.target.value }))}
                    className="mr-1 rounded border border-slate-300 px-1 py-0.5 text-xs"
                  >
                    <option value="">{t('orders.unmatched.order')}</option>
                    {open.data?.items.map((o) => (
                      <option key={o.id} value={o.id}>
                        {o.accession_number} · {displayName(nameOrder, { pn: o.patient_name })} · {o.procedure}
                      </option>
                    ))}
                  </select>
                  <button
                    type="button"
                    disabled={!choice[s.study_instance_uid] || match.isPending}
                    onClick={() => void doMatch(s.study_instance_uid)}
                    className="rounded border border-sky-600 px-2 py-0.5 text-xs text-sky-800 hover:bg-sky-50 disabled:opacity-40"
                  >
                    {t('orders.unmatched.match')}
                  </button>
                </td>
              )}
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}
