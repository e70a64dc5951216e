'use client';

import { useState, type ReactNode } from 'react';
import { describeError } from '@/lib/api/errors';
import {
  deviceBody,
  EMPTY_FORM,
  formOf,
  OPERATIONS,
  serverFieldErrors,
  validateDevice,
  type Device,
  type DeviceField,
  type DeviceForm,
  type FormErrors,
} from '@/lib/devices/form';
import { deviceErrorMessage } from '@/lib/devices/messages';
import { useT } from '@/lib/i18n';
import { errorDetails, useSaveDevice } from '@/lib/queries/devices';

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF', 'OT', 'WSD'];

export function Modal({
  label,
  testId,
  onClose,
  children,
}: {
  label: string;
  testId: string;
  onClose: () => void;
  children: ReactNode;
}) {
  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/40"
      role="dialog"
      aria-modal="true"
      aria-label={label}
      data-testid={testId}
      onKeyDown={(e) => e.key === 'Escape' && onClose()}
    >
      <div className="max-h-[90vh] w-[34rem] overflow-auto rounded bg-white p-5 text-sm text-slate-900 shadow-lg">
        <h2 className="mb-3 text-base font-semibold">{label}</h2>
        {children}
      </div>
    </div>
  );
}

/** Create (device null) or edit a device; checks the fields, then shows the server's refusals in words. */
export function DeviceDialog({ device, onClose }: { device: Device | null; onClose: () => void }) {
  const t = useT();
  const [form, setForm] = useState<DeviceForm>(device ? formOf(device) : EMPTY_FORM);
  const [errors, setErrors] = useState<FormErrors>({});
  const [general, setGeneral] = useState<string | null>(null);
  const save = useSaveDevice();

  const set = <K extends DeviceField>(key: K, value: DeviceForm[K]) => {
    setForm((f) => ({ ...f, [key]: value }));
    setErrors((e) => ({ ...e, [key]: undefined }));
  };

  const submit = async (e: React.FormEvent) => {
    e.preventDefault();
    setGeneral(null);
    const problems = validateDevice(form);
    setErrors(problems);
    if (Object.keys(problems).length) return;
    try {
      await save.mutateAsync({ id: device?.id ?? null, body: deviceBody(form) });
      onClose();
    } catch (err) {
      const info = describeError(err);
      const fields = serverFieldErrors(info.code, errorDetails(err));
      setErrors(fields);
      if (!Object.keys(fields).length) setGeneral(deviceErrorMessage(t, info));
    }
  };

  const field = (key: DeviceField, label: string, input: ReactNode) => (
    <label className="block text-xs text-slate-600">
      {label}
      {input}
      {errors[key] && (
        <span className="mt-0.5 block text-red-600" data-testid={`device-error-${key}`} role="alert">
          {t(`devices.invalid.${errors[key]}`)}
        </span>
      )}
    </label>
  );
  const inputClass = (key: DeviceField) =>
    `mt-0.5 block w-full rounded border px-2 py-1 text-sm text-slate-900 ${
      errors[key] ? 'border-red-500' : 'border-slate-300'
    }`;

  return (
    <Modal label={t(device ? 'devices.editTitle' : 'devices.addTitle')} testId="device-dialog" onClose={onClose}>
      <form onSubmit={submit} noValidate className="grid grid-cols-2 gap-3" data-testid="device-form">
        {field(
          'ae_title',
          t('devices.col.aeTitle'),
          <input
            name="ae_title"
            autoFocus
            value={form.ae_title}
            maxLength={64}
            onChange={(e) => set('ae_title', e.target.value)}
            className={`${inputClass('ae_title')} font-mono`}
          />,
        )}
        {field(
          'modality',
          t('devices.col.modality'),
          <>
            <input
              name="modality"
              list="device-modalities"
              value={form.modality}
              onChange={(e) => set('modality', e.target.value)}
              className={inputClass('modality')}
            />
            <datalist id="device-modalities">
              {MODALITIES.map((m) => (
                <option key={m} value={m} />
              ))}
            </datalist>
          </>,
        )}
        {field(
          'host',
          t('devices.col.host'),
          <input
            name="host"
            value={form.host}
            placeholder="192.168.1.20"
            onChange={(e) => set('host', e.target.value)}
            className={`${inputClass('host')} font-mono`}
          />,
        )}
        {field(
          'port',
          t('devices.col.port'),
          <input
            name="port"
            inputMode="numeric"
            value={form.port}
            onChange={(e) => set('port', e.target.value)}
            className={`${inputClass('port')} font-mono`}
          />,
        )}
        {field(
          'department',
          t('devices.col.department'),
          <input
            name="department"
            value={form.department}
            onChange={(e) => set('department', e.target.value)}
            className={inputClass('department')}
          />,
        )}
        {field(
          'description',
          t('devices.col.description'),
          <input
            name="description"
            value={form.description}
            onChange={(e) => set('description', e.target.value)}
            className={inputClass('description')}
          />,
        )}
        <fieldset className="col-span-2 text-xs text-slate-600">
          <legend>{t('devices.col.operations')}</legend>
          <div className="mt-1 flex gap-4">
            {OPERATIONS.map((op) => (
              <label key={op} className="flex items-center gap-1 text-sm text-slate-900">
                <input
                  type="checkbox"
                  name={`op-${op}`}
                  checked={form.operations.includes(op)}
                  onChange={(e) =>
                    set(
                      'operations',
                      e.target.checked ? [...form.operations, op] : form.operations.filter((o) => o !== op),
                    )
                  }
                />
                {t(`devices.op.${op}`)}
              </label>
            ))}
          </div>
        </fieldset>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" name="enabled" checked={form.enabled} onChange={(e) => set('enabled', e.target.checked)} />
          {t('devices.col.enabled')}
        </label>
        <label className="flex items-center gap-2 text-sm">
          <input type="checkbox" name="tls" checked={form.tls} onChange={(e) => set('tls', e.target.checked)} />
          {t('devices.tls')}
        </label>
        {general && (
          <p role="alert" className="col-span-2 text-red-600" data-testid="device-form-error">
            {general}
          </p>
        )}
        <div className="col-span-2 mt-2 flex justify-end gap-2">
          <button type="button" onClick={onClose} className="rounded border border-slate-300 px-3 py-1 hover:bg-slate-100">
            {t('devices.cancel')}
          </button>
          <button
            type="submit"
            data-testid="device-save"
            disabled={save.isPending}
            className="rounded bg-sky-700 px-3 py-1 text-white hover:bg-sky-800 disabled:opacity-50"
          >
            {save.isPending ? t('devices.saving') : t('devices.save')}
          </button>
        </div>
      </form>
    </Modal>
  );
}
