'use client';

import { useState, type ReactNode } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { usePersonName } from '@/components/patients/NameOrderSwitch';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import { useT } from '@/lib/i18n';
import { EMPTY_ORDER, localNow, orderBody, orderChanges, orderForm, validateOrder, type OrderErrors, type OrderField, type OrderForm } from '@/lib/orders/form';
import { PRIORITIES, SOURCES, type Order } from '@/lib/orders/types';
import { displayName } from '@/lib/patients/names';
import type { Patient } from '@/lib/patients/types';
import { useCreateOrder, useUpdateOrder } from '@/lib/queries/orders';
import { DEFAULT_PATIENT_FILTERS, usePatients } from '@/lib/queries/patients';

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF'];

/** Pick the patient by search when the order is not entered from a patient's page. */
function PatientPicker({ onPick }: { onPick: (p: Patient) => void }) {
  const t = useT();
  const order = usePersonName();
  const [q, setQ] = useState('');
  const { data } = usePatients({ ...DEFAULT_PATIENT_FILTERS, q: q.trim(), limit: 8 });
  return (
    <div>
      <input data-testid="order-patient-q" value={q} maxLength={64} placeholder={t('patients.searchPlaceholder')} onChange={(e) => setQ(e.target.value)} className="mt-0.5 block w-full rounded border border-slate-300 px-2 py-1 text-sm" />
      {q.trim() && (
        <ul className="mt-1 max-h-32 overflow-auto rounded border border-slate-200">
          {data?.items.map((p) => (
            <li key={p.id}>
              <button type="button" data-testid="order-patient-option" onClick={() => onPick(p)} className="block w-full px-2 py-1 text-left hover:bg-sky-50">
                {displayName(order, { ideographic: p.name_ideographic, alphabetic: p.name_alphabetic, pn: p.name })} · {p.mrn}
              </button>
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

type OrderDialogProps = {
  patient: Patient | null;
  onClose: () => void;
  onCreated?: (o: Order) => void;
  /** Edit this order (its patient stays) instead of entering a new one. */
  editing?: Order;
};

/** Order entry (检查申请; the server generates the accession number), or editing one: only the
 * fields changed are sent, with the version read, so a change someone made meanwhile is never
 * overwritten (409 order_version_conflict). */
export function OrderDialog({ patient, onClose, onCreated, editing }: OrderDialogProps) {
  const t = useT();
  const order = usePersonName();
  const [picked, setPicked] = useState<Patient | null>(patient);
  const [initial] = useState<OrderForm>(() =>
    editing ? orderForm(editing) : { ...EMPTY_ORDER, patient_id: patient?.id ?? null, scheduled_at: localNow() },
  );
  const [form, setForm] = useState<OrderForm>(initial);
  const [errors, setErrors] = useState<OrderErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const create = useCreateOrder();
  const update = useUpdateOrder();
  const pending = create.isPending || update.isPending;

  const set = <K extends OrderField>(key: K, value: OrderForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };
  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setGeneral(null);
    const problems = validateOrder(form);
    setErrors(problems);
    if (Object.keys(problems).length) return;
    try {
      if (editing) {
        await update.mutateAsync({ orderId: editing.id, patch: orderChanges(initial, form, editing.version) });
      } else {
        // Not `onCreated?.(await …)`: optional chaining would skip the request without a callback.
        const created = await create.mutateAsync(orderBody(form));
        onCreated?.(created);
      }
      onClose();
    } catch (err) {
      const info = describeError(err);
      if (info.code === 'order_version_conflict') setGeneral(t('orders.errors.versionConflict'));
      else if (info.code === 'order_closed') setGeneral(t('orders.errors.closed'));
      else setGeneral(errorMessage(t, info));
    }
  };
  const field = (key: OrderField, label: string, input: ReactNode, wide = false) => (
    <label className={`block text-xs text-slate-600 ${wide ? 'col-span-2' : ''}`}>
      {label}
      {input}
      {errors[key] && (
        <span className="mt-0.5 block text-red-600" role="alert" data-testid={`order-error-${key}`}>
          {t(`orders.invalid.${errors[key]}`)}
        </span>
      )}
    </label>
  );
  const cls = (key: OrderField) => `mt-0.5 block w-full rounded border px-2 py-1 text-sm text-slate-900 ${errors[key] ? 'border-red-500' : 'border-slate-300'}`;
  const text = (key: 'procedure' | 'body_part' | 'ordering_doctor' | 'ordering_department' | 'station_ae', label: string, placeholder?: string) =>
    field(key, label, <input name={key} value={form[key]} placeholder={placeholder} onChange={(e) => set(key, e.target.value)} className={cls(key)} />);

  return (
    <Modal label={editing ? t('orders.editTitle') : t('orders.addTitle')} testId="order-dialog" onClose={onClose}>
      <form onSubmit={submit} noValidate className="grid grid-cols-2 gap-3" data-testid="order-form">
        {field(
          'patient_id',
          t('orders.field.patient'),
          editing ? (
            <span className="mt-0.5 block text-sm text-slate-900" data-testid="order-patient">
              {displayName(order, { pn: editing.patient_name })} · {editing.accession_number}
            </span>
          ) : picked ? (
            <span className="mt-0.5 flex items-center gap-2 text-sm text-slate-900" data-testid="order-patient">
              {displayName(order, { ideographic: picked.name_ideographic, alphabetic: picked.name_alphabetic, pn: picked.name })} · {picked.mrn}
              {!patient && (
                <button type="button" className="text-xs text-sky-700 hover:underline" onClick={() => { setPicked(null); set('patient_id', null); }}>
                  {t('orders.changePatient')}
                </button>
              )}
            </span>
          ) : (
            <PatientPicker onPick={(p) => { setPicked(p); set('patient_id', p.id); }} />
          ),
          true,
        )}
        {text('procedure', t('orders.field.procedure'), '胸部CT平扫')}
        {field(
          'modality',
          t('orders.field.modality'),
          <select name="modality" value={form.modality} onChange={(e) => set('modality', e.target.value)} className={cls('modality')}>
            {MODALITIES.map((m) => (
              <option key={m}>{m}</option>
            ))}
          </select>,
        )}
        {text('body_part', t('orders.field.bodyPart'), 'CHEST')}
        {field(
          'priority',
          t('orders.field.priority'),
          <select name="priority" value={form.priority} onChange={(e) => set('priority', e.target.value as OrderForm['priority'])} className={cls('priority')}>
            {PRIORITIES.map((p) => (
              <option key={p} value={p}>
                {t(`orders.priority.${p}`)}
              </option>
            ))}
          </select>,
        )}
        {field(
          'patient_source',
          t('orders.field.source'),
          <select name="patient_source" value={form.patient_source} onChange={(e) => set('patient_source', e.target.value as OrderForm['patient_source'])} className={cls('patient_source')}>
            {SOURCES.map((s) => (
              <option key={s} value={s}>
                {t(`orders.source.${s}`)}
              </option>
            ))}
          </select>,
        )}
        {field('scheduled_at', t('orders.field.scheduledAt'), <input name="scheduled_at" type="datetime-local" value={form.scheduled_at} onChange={(e) => set('scheduled_at', e.target.value)} className={cls('scheduled_at')} />)}
        {text('ordering_doctor', t('orders.field.orderingDoctor'))}
        {text('ordering_department', t('orders.field.orderingDepartment'))}
        {text('station_ae', t('orders.field.stationAe'), 'CT_ROOM1')}
        {field(
          'clinical_question',
          t('orders.field.clinicalQuestion'),
          <textarea name="clinical_question" rows={2} value={form.clinical_question} onChange={(e) => set('clinical_question', e.target.value)} className={cls('clinical_question')} />,
          true,
        )}
        {general && (
          <p role="alert" data-testid="order-error" className="col-span-2 text-red-600">
            {general}
          </p>
        )}
        <div className="col-span-2 flex justify-end gap-2">
          <button type="button" onClick={onClose} className="rounded border border-slate-300 px-3 py-1 hover:bg-slate-100">
            {t('patients.cancel')}
          </button>
          <button type="submit" data-testid="order-save" disabled={pending} className="rounded bg-sky-700 px-3 py-1 text-white hover:bg-sky-800 disabled:opacity-50">
            {pending ? t('patients.saving') : editing ? t('orders.saveChanges') : t('orders.submit')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
