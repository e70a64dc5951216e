'use client';

import Link from 'next/link';
import { useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { hasPermission, useSession } from '@/lib/auth/store';
import type { Device, EchoResult } from '@/lib/devices/form';
import { deviceErrorMessage } from '@/lib/devices/messages';
import { useT } from '@/lib/i18n';
import { echoDevice, useDeleteDevice, useDevices } from '@/lib/queries/devices';
import { DeviceDialog, Modal } from './DeviceDialog';

type EchoState = { state: 'pending' } | { state: 'done'; result: EchoResult } | { state: 'error'; message: string };

function EchoOutcome({ echo }: { echo: EchoState | undefined }) {
  const t = useT();
  if (!echo) return null;
  if (echo.state === 'pending') return <span className="text-slate-500">{t('devices.echoing')}</span>;
  if (echo.state === 'error') {
    return (
      <span className="text-red-600" data-testid="echo-result" data-success="false">
        ✗ {echo.message}
      </span>
    );
  }
  const r = echo.result;
  return r.success ? (
    <span className="text-emerald-700" data-testid="echo-result" data-success="true">
      ✓ {t('devices.echoOk', { ms: (r.round_trip_ms ?? 0).toFixed(1) })}
    </span>
  ) : (
    <span className="text-red-600" data-testid="echo-result" data-success="false" title={r.error ?? ''}>
      ✗ {t('devices.echoFailed')}
      {r.status != null ? ` (0x${r.status.toString(16).toUpperCase().padStart(4, '0')})` : ''}
      {r.error ? ` — ${r.error}` : ''}
    </span>
  );
}

/** The DICOM device registry: list and echo (device:read); add, edit, delete (device:manage). */
export function DeviceList() {
  const t = useT();
  const me = useSession((s) => s.me);
  const canManage = hasPermission(me, 'device:manage');
  const { data, error, isLoading } = useDevices();
  const remove = useDeleteDevice();
  const [editing, setEditing] = useState<Device | 'new' | null>(null);
  const [deleting, setDeleting] = useState<Device | null>(null);
  const [deleteError, setDeleteError] = useState<string | null>(null);
  const [echoes, setEchoes] = useState<Record<string, EchoState>>({});

  const echo = async (d: Device) => {
    setEchoes((e) => ({ ...e, [d.id]: { state: 'pending' } }));
    try {
      const result = await echoDevice(d.id);
      setEchoes((e) => ({ ...e, [d.id]: { state: 'done', result } }));
    } catch (err) {
      setEchoes((e) => ({ ...e, [d.id]: { state: 'error', message: deviceErrorMessage(t, describeError(err)) } }));
    }
  };

  const confirmDelete = async () => {
    if (!deleting) return;
    setDeleteError(null);
    try {
      await remove.mutateAsync(deleting.id);
      setDeleting(null);
    } catch (err) {
      setDeleteError(deviceErrorMessage(t, describeError(err)));
    }
  };

  return (
    <div className="flex h-full flex-col gap-3 p-4">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('devices.title')}</h1>
        {data && <span className="text-sm text-slate-500">{t('devices.count', { n: data.total })}</span>}
        <div className="ml-auto flex items-center gap-3">
        {hasPermission(me, 'image:read') && (
          <Link href="/admin/query-retrieve/" data-testid="devices-query-retrieve" className="text-sm text-sky-700 underline">
            {t('qr.title')}
          </Link>
        )}
        {canManage && (
          <button
            type="button"
            data-testid="device-add"
            onClick={() => setEditing('new')}
            className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800"
          >
            {t('devices.add')}
          </button>
        )}
        </div>
      </div>

      {error && (
        <p role="alert" className="text-sm text-red-600">
          {deviceErrorMessage(t, describeError(error))}
        </p>
      )}

      <div className="min-h-0 flex-1 overflow-auto rounded bg-white shadow-sm">
        <table className="w-full text-sm" data-testid="device-table">
          <thead className="sticky top-0 bg-slate-50 text-slate-600">
            <tr>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.aeTitle')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.address')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.modality')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.department')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.operations')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.enabled')}</th>
              <th className="px-2 py-2 text-left font-medium">TLS</th>
              <th className="px-2 py-2 text-left font-medium">{t('devices.col.echo')}</th>
              {canManage && <th className="px-2 py-2" />}
            </tr>
          </thead>
          <tbody>
            {data?.items.map((d) => (
              <tr key={d.id} data-testid="device-row" data-ae-title={d.ae_title} className="border-t border-slate-100 hover:bg-slate-50">
                <td className="px-2 py-1 font-mono font-medium" title={d.description}>
                  {d.ae_title}
                </td>
                <td className="px-2 py-1 font-mono">
                  {d.host.includes(':') ? `[${d.host}]` : d.host}:{d.port}
                </td>
                <td className="px-2 py-1">{d.modality}</td>
                <td className="px-2 py-1">{d.department}</td>
                <td className="px-2 py-1">
                  <span className="flex flex-wrap gap-1">
                    {d.operations.map((op) => (
                      <span key={op} className="rounded bg-slate-100 px-1.5 text-xs text-slate-700">
                        {t(`devices.op.${op}`)}
                      </span>
                    ))}
                  </span>
                </td>
                <td className="px-2 py-1" data-testid="device-enabled">
                  {d.enabled ? (
                    <span className="text-emerald-700">{t('devices.yes')}</span>
                  ) : (
                    <span className="text-slate-400">{t('devices.disabled')}</span>
                  )}
                </td>
                <td className="px-2 py-1">{d.tls ? '🔒' : '—'}</td>
                <td className="px-2 py-1 whitespace-nowrap">
                  <button
                    type="button"
                    data-testid="device-echo"
                    disabled={echoes[d.id]?.state === 'pending'}
                    onClick={() => void echo(d)}
                    className="mr-2 rounded border border-slate-300 px-2 py-0.5 hover:bg-slate-100 disabled:opacity-50"
                  >
                    {t('devices.echo')}
                  </button>
                  <EchoOutcome echo={echoes[d.id]} />
                </td>
                {canManage && (
                  <td className="px-2 py-1 text-right whitespace-nowrap">
                    <button
                      type="button"
                      data-testid="device-edit"
                      onClick={() => setEditing(d)}
                      className="rounded px-2 py-0.5 text-sky-700 hover:underline"
                    >
                      {t('devices.edit')}
                    </button>
                    <button
                      type="button"
                      data-testid="device-delete"
                      onClick={() => {
                        setDeleteError(null);
                        setDeleting(d);
                      }}
                      className="rounded px-2 py-0.5 text-red-700 hover:underline"
                    >
                      {t('devices.delete')}
                    </button>
                  </td>
                )}
              </tr>
            ))}
          </tbody>
        </table>
        {isLoading && <p className="p-8 text-center text-slate-500">{t('common.loading')}</p>}
        {data && data.items.length === 0 && (
          <p className="p-8 text-center text-slate-500" data-testid="no-devices">
            {t('devices.empty')}
          </p>
        )}
      </div>

      {editing && (
        <DeviceDialog device={editing === 'new' ? null : editing} onClose={() => setEditing(null)} />
      )}
      {deleting && (
        <Modal label={t('devices.deleteTitle')} testId="device-delete-dialog" onClose={() => setDeleting(null)}>
          <p>{t('devices.deleteConfirm', { ae: deleting.ae_title })}</p>
          {deleteError && (
            <p role="alert" className="mt-2 text-red-600">
              {deleteError}
            </p>
          )}
          <div className="mt-4 flex justify-end gap-2">
            <button
              type="button"
              autoFocus
              onClick={() => setDeleting(null)}
              className="rounded border border-slate-300 px-3 py-1 hover:bg-slate-100"
            >
              {t('devices.cancel')}
            </button>
            <button
              type="button"
              data-testid="device-delete-confirm"
              disabled={remove.isPending}
              onClick={() => void confirmDelete()}
              className="rounded bg-red-700 px-3 py-1 text-white hover:bg-red-800 disabled:opacity-50"
            >
              {t('devices.delete')}
            </button>
          </div>
        </Modal>
      )}
    </div>
  );
}
