'use client';

import { formatBytes, formatDateTime, usedPercent } from '@/lib/admin/format';
import { adminErrorMessage } from '@/lib/admin/messages';
import { useSystemStatus } from '@/lib/admin/queries';
import { describeError } from '@/lib/api/errors';
import { useT } from '@/lib/i18n';

function Card({ title, children, testId }: { title: string; children: React.ReactNode; testId: string }) {
  return (
    <section className="rounded bg-white p-3 shadow-sm" data-testid={testId}>
      <h2 className="mb-2 font-medium text-slate-700">{title}</h2>
      <div className="text-sm">{children}</div>
    </section>
  );
}

function Ok({ ok }: { ok: boolean }) {
  const t = useT();
  return ok ? <span className="text-emerald-700">✓ {t('admin.system.ok')}</span> : <span className="text-red-700">✗ {t('admin.system.failed')}</span>;
}

/** Flattens nested settings to "section.key" rows. */
function flatten(value: unknown, prefix = ''): [string, string][] {
  if (value && typeof value === 'object' && !Array.isArray(value)) {
    return Object.entries(value as Record<string, unknown>).flatMap(([k, v]) => flatten(v, prefix ? `${prefix}.${k}` : k));
  }
  return [[prefix, value === null || value === undefined ? '—' : typeof value === 'string' ? value : JSON.stringify(value)]];
}

/** Readiness, disk, task backlog, DICOM listener, version and masked settings (system:admin). */
export function SystemStatusPage() {
  const t = useT();
  const { data, error } = useSystemStatus();
  if (error) {
    return (
      <p role="alert" className="text-sm text-red-600">
        {adminErrorMessage(t, describeError(error))}
      </p>
    );
  }
  if (!data) return <p className="text-slate-500">{t('common.loading')}</p>;
  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.system')}</h1>
        <span data-testid="system-ready" data-ready={data.ready ? 'true' : 'false'} className={data.ready ? 'text-emerald-700' : 'text-red-700'}>
          {data.ready ? t('admin.system.ready') : t('admin.system.notReady')}
        </span>
        <span className="ml-auto text-sm text-slate-500" data-testid="system-version">
          {t('admin.system.version', { version: data.version, mode: t(`admin.system.mode.${data.mode}`) })}
        </span>
      </div>
      <div className="grid grid-cols-2 gap-3 xl:grid-cols-4">
        <Card title={t('admin.system.checks')} testId="system-checks">
          <ul>
            {data.checks.map((c) => (
              <li key={c.name} data-testid="system-check" data-name={c.name} data-ok={c.ok ? 'true' : 'false'} className="flex justify-between gap-2">
                <span>{t(`admin.system.check.${c.name}`)}</span>
                <span title={c.problem ?? ''}>
                  <Ok ok={c.ok} />
                </span>
              </li>
            ))}
          </ul>
        </Card>
        <Card title={t('admin.system.disk')} testId="system-disk">
          {data.disk ? (
            <>
              <div className="mb-1 h-2 rounded bg-slate-200">
                <div className="h-2 rounded bg-sky-600" style={{ width: `${usedPercent(data.disk.used_bytes, data.disk.total_bytes)}%` }} />
              </div>
              <p>{t('admin.system.diskUsed', { used: formatBytes(data.disk.used_bytes), total: formatBytes(data.disk.total_bytes), pct: usedPercent(data.disk.used_bytes, data.disk.total_bytes) })}</p>
              <p data-testid="system-disk-free">{t('admin.system.diskFree', { free: formatBytes(data.disk.free_bytes) })}</p>
              <p className="text-xs text-slate-500">
                {t('admin.system.storageBackend', { backend: t(`admin.system.backend.${data.storage_backend}`) })}
              </p>
            </>
          ) : (
            <Ok ok={false} />
          )}
        </Card>
        <Card title={t('admin.system.backlog')} testId="system-backlog">
          {data.backlog ? (
            <>
              <p data-testid="system-backlog-pending">{t('admin.system.pending', { n: data.backlog.pending })}</p>
              <p>{t('admin.system.givenUp', { n: data.backlog.given_up })}</p>
              {data.backlog.oldest_at && <p className="text-xs text-slate-500">{t('admin.system.oldest', { at: formatDateTime(data.backlog.oldest_at) })}</p>}
            </>
          ) : (
            <Ok ok={false} />
          )}
        </Card>
        <Card title={t('admin.system.dicom')} testId="system-dicom">
          <p data-testid="system-dicom-state" data-state={data.dicom.state}>
            {t(`admin.system.listener.${data.dicom.state}`)}
          </p>
          <p className="font-mono text-xs" translate="no">
            {data.dicom.ae_title} : {data.dicom.port}
          </p>
        </Card>
      </div>
      <Card title={t('admin.system.settings')} testId="system-settings">
        <p className="mb-2 text-xs text-slate-500">{t('admin.system.settingsHint')}</p>
        <table className="w-full text-xs">
          <tbody translate="no">
            {flatten(data.settings).map(([k, v]) => (
              <tr key={k} className="border-t border-slate-100" data-testid="system-setting" data-key={k}>
                <td className="py-0.5 pr-3 font-mono text-slate-600">{k}</td>
                <td className="py-0.5 font-mono break-all">{v}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </Card>
    </div>
  );
}
