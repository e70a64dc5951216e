'use client';

import Link from 'next/link';
import { useState } from 'react';
import { patientHref } from '@/components/patients/PatientList';
import { Pager } from '@/components/shell/Pager';
import { usePersonName } from '@/components/patients/NameOrderSwitch';
import { viewerHref } from '@/components/worklist/Worklist';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { ORDER_NEXT, ORDER_STATUSES, type Order } from '@/lib/orders/types';
import { displayName } from '@/lib/patients/names';
import { DEFAULT_ORDER_FILTERS, useOrders, useOrderStatus, type OrderFilters } from '@/lib/queries/orders';
import { OrderDialog } from './OrderDialog';
import { UnmatchedStudies } from './UnmatchedStudies';

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF'];

/** Orders with their state and the moves the state machine allows (the server has the last word). */
export function OrderTable({ orders, showPatient = true }: { orders: Order[]; showPatient?: boolean }) {
  const t = useT();
  const me = useSession((s) => s.me);
  const nameOrder = usePersonName();
  const change = useOrderStatus();
  const [error, setError] = useState<string | null>(null);
  const [editing, setEditing] = useState<Order | null>(null);
  const canWrite = hasPermission(me, 'order:write');
  const move = async (o: Order, status: Order['status']) => {
    setError(null);
    try {
      await change.mutateAsync({ orderId: o.id, status });
    } catch (err) {
      const info = describeError(err);
      setError(info.status === 409 ? t('orders.errors.transition') : errorMessage(t, info));
    }
  };
  return (
    <>
      {error && (
        <p role="alert" data-testid="order-status-error" className="mb-2 text-sm text-red-600">
          {error}
        </p>
      )}
      <table className="w-full text-sm" data-testid="order-table">
        <thead className="bg-slate-50 text-left text-slate-600">
          <tr>
            <th className="px-2 py-2 font-medium">{t('orders.field.accession')}</th>
            {showPatient && <th className="px-2 py-2 font-medium">{t('orders.field.patient')}</th>}
            <th className="px-2 py-2 font-medium">{t('orders.field.procedure')}</th>
            <th className="px-2 py-2 font-medium">{t('orders.field.modality')}</th>
            <th className="px-2 py-2 font-medium">{t('orders.field.priority')}</th>
            <th className="px-2 py-2 font-medium">{t('orders.field.source')}</th>
            <th className="px-2 py-2 font-medium">{t('orders.field.scheduledAt')}</th>
            <th className="px-2 py-2 font-medium">{t('orders.field.status')}</th>
            <th className="px-2 py-2 font-medium" />
          </tr>
        </thead>
        <tbody>
          {orders.map((o) => (
            <tr key={o.id} data-testid="order-row" data-order-id={o.id} data-status={o.status} className="border-t border-slate-100">
              <td className="px-2 py-1 font-mono" data-testid="order-accession">
                {o.accession_number}
              </td>
              {showPatient && (
                <td className="px-2 py-1">
                  <Link href={patientHref(o.patient_id)} className="text-sky-800 hover:underline">
                    {displayName(nameOrder, { pn: o.patient_name })}
                  </Link>
                </td>
              )}
              <td className="px-2 py-1">{o.procedure}</td>
              <td className="px-2 py-1">
                {o.modality} {o.body_part}
              </td>
              <td className="px-2 py-1">{t(`orders.priority.${o.priority}`)}</td>
              <td className="px-2 py-1">{o.patient_source ? t(`orders.source.${o.patient_source}`) : ''}</td>
              <td className="px-2 py-1 whitespace-nowrap">{o.scheduled_at ? new Date(o.scheduled_at).toLocaleString() : ''}</td>
              <td className="px-2 py-1" data-testid="order-status">
                {t(`orders.status.${o.status}`)}
              </td>
              <td className="px-2 py-1 whitespace-nowrap">
                {o.study_instance_uid && (
                  <Link href={viewerHref(o.study_instance_uid)} className="mr-2 text-xs text-sky-700 hover:underline">
                    {t('patients.openStudy')}
                  </Link>
                )}
                {canWrite && o.status !== 'completed' && o.status !== 'cancelled' && (
                  <button type="button" data-testid="order-edit" onClick={() => setEditing(o)} className="mr-1 rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100">
                    {t('orders.edit')}
                  </button>
                )}
                {canWrite &&
                  ORDER_NEXT[o.status].map((next) => (
                    <button
                      key={next}
                      type="button"
                      data-testid={`order-to-${next}`}
                      disabled={change.isPending}
                      onClick={() => void move(o, next)}
                      className={`mr-1 rounded border px-2 py-0.5 text-xs ${next === 'cancelled' ? 'border-red-300 text-red-700 hover:bg-red-50' : 'border-slate-300 hover:bg-slate-100'}`}
                    >
                      {t(`orders.action.${next}`)}
                    </button>
                  ))}
              </td>
            </tr>
          ))}
        </tbody>
      </table>
      {orders.length === 0 && (
        <p className="p-6 text-center text-slate-500" data-testid="no-orders">
          {t('orders.empty')}
        </p>
      )}
      {editing && <OrderDialog patient={null} editing={editing} onClose={() => setEditing(null)} />}
    </>
  );
}

/** All orders, filtered by state, modality and scheduled date; new orders from here too. */
export function OrderList() {
  const t = useT();
  const me = useSession((s) => s.me);
  const [filters, setFilters] = useState<OrderFilters>(DEFAULT_ORDER_FILTERS);
  const [creating, setCreating] = useState(false);
  const { data, error, isFetching } = useOrders(filters);
  const update = (patch: Partial<OrderFilters>) => setFilters((f) => ({ ...f, ...patch, offset: 0 }));
  const total = data?.total ?? 0;
  const input = 'mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900';
  return (
    <div className="flex h-full flex-col gap-3 p-4">
      <div className="flex flex-wrap items-end gap-2 rounded bg-white p-3 shadow-sm">
        <label className="text-xs text-slate-600">
          {t('orders.field.status')}
          <select data-testid="orders-status" value={filters.status} onChange={(e) => update({ status: e.target.value })} className={input}>
            <option value="">{t('patients.all')}</option>
            {ORDER_STATUSES.map((s) => (
              <option key={s} value={s}>
                {t(`orders.status.${s}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="text-xs text-slate-600">
          {t('orders.field.modality')}
          <select data-testid="orders-modality" value={filters.modality} onChange={(e) => update({ modality: e.target.value })} className={input}>
            <option value="">{t('patients.all')}</option>
            {MODALITIES.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateFrom')}
          <input type="date" value={filters.date_from} onChange={(e) => update({ date_from: e.target.value })} className={input} />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateTo')}
          <input type="date" value={filters.date_to} onChange={(e) => update({ date_to: e.target.value })} className={input} />
        </label>
        {hasPermission(me, 'order:write') && (
          <button type="button" data-testid="order-add" onClick={() => setCreating(true)} className="ml-auto rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800">
            {t('orders.add')}
          </button>
        )}
      </div>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {errorMessage(t, describeError(error))}
        </p>
      )}
      <UnmatchedStudies canWrite={hasPermission(me, 'order:write')} />
      <div className="min-h-0 flex-1 overflow-auto rounded bg-white shadow-sm">
        <OrderTable orders={data?.items ?? []} />
      </div>
      <Pager total={total} offset={filters.offset} limit={filters.limit} busy={isFetching} totalTestId="order-total" onOffset={(offset) => setFilters((f) => ({ ...f, offset }))} />
      {creating && <OrderDialog patient={null} onClose={() => setCreating(false)} />}
    </div>
  );
}
