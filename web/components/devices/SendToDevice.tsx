'use client';

import { useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { hasPermission, useSession } from '@/lib/auth/store';
import { jobDone, sendTargets, type DimseJob } from '@/lib/devices/form';
import { deviceErrorMessage } from '@/lib/devices/messages';
import { useT } from '@/lib/i18n';
import { sendStudy, useDevices, useJob } from '@/lib/queries/devices';

const BAR: Record<DimseJob['status'], string> = {
  queued: 'bg-sky-500',
  running: 'bg-sky-500',
  completed: 'bg-emerald-500',
  partial: 'bg-amber-500',
  failed: 'bg-red-500',
};

function SendDialog({ studyUid, onClose }: { studyUid: string; onClose: () => void }) {
  const t = useT();
  const { data, error: listError } = useDevices();
  const targets = sendTargets(data?.items ?? []);
  const [deviceId, setDeviceId] = useState('');
  const [jobId, setJobId] = useState<string | null>(null);
  const [sending, setSending] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { data: job, error: jobError } = useJob(jobId);
  const chosen = deviceId || targets[0]?.id || '';

  const send = async () => {
    if (!chosen) return;
    setError(null);
    setSending(true);
    try {
      setJobId((await sendStudy(studyUid, chosen)).id);
    } catch (err) {
      setError(deviceErrorMessage(t, describeError(err)));
    } finally {
      setSending(false);
    }
  };

  const done = jobDone(job);
  // Sub-operations are counted apart: completed, with warning (stored too) and failed.
  const sent = job ? job.completed + job.warning : 0;
  const pct = job && job.total > 0 ? Math.min(100, Math.round(((sent + job.failed) / job.total) * 100)) : 0;
  const problem = listError ?? jobError;

  return (
    <div
      className="fixed inset-0 z-50 flex items-center justify-center bg-black/60"
      role="dialog"
      aria-modal="true"
      aria-label={t('devices.send.title')}
      data-testid="send-dialog"
      onKeyDown={(e) => {
        // Keys typed here are not viewer shortcuts (Space would start cine behind the dialog).
        e.stopPropagation();
        if (e.key === 'Escape') onClose();
      }}
    >
      <div className="w-[28rem] rounded bg-neutral-900 p-5 text-sm text-neutral-200">
        <h2 className="mb-3 text-base font-semibold">{t('devices.send.title')}</h2>
        {data && targets.length === 0 && <p className="text-neutral-400">{t('devices.send.noTargets')}</p>}
        {targets.length > 0 && (
          <label className="block text-xs text-neutral-400">
            {t('devices.send.device')}
            <select
              data-testid="send-device"
              autoFocus
              value={chosen}
              disabled={!!jobId}
              onChange={(e) => setDeviceId(e.target.value)}
              className="mt-0.5 block w-full rounded border border-neutral-700 bg-neutral-800 px-2 py-1 text-sm text-neutral-100"
            >
              {targets.map((d) => (
                <option key={d.id} value={d.id}>
                  {d.ae_title} — {d.host}:{d.port}
                  {d.modality ? ` (${d.modality})` : ''}
                </option>
              ))}
            </select>
          </label>
        )}
        {job && (
          <div className="mt-4" data-testid="send-job" data-status={job.status}>
            <div className="h-2 overflow-hidden rounded bg-neutral-700">
              <div
                className={`h-full ${BAR[job.status]}`}
                style={{ width: `${pct}%` }}
              />
            </div>
            <p className="mt-1" data-testid="send-progress">
              {t(`devices.send.status.${job.status}`)} —{' '}
              {t('devices.send.progress', { done: sent, total: job.total })}
              {job.failed > 0 && ` · ${t('devices.send.failedCount', { n: job.failed })}`}
              {job.warning > 0 && ` · ${t('devices.send.warningCount', { n: job.warning })}`}
            </p>
            {job.error && <p className="mt-1 text-red-400">{job.error}</p>}
          </div>
        )}
        {(error || problem) && (
          <p role="alert" className="mt-2 text-red-400" data-testid="send-error">
            {error ?? deviceErrorMessage(t, describeError(problem))}
          </p>
        )}
        <div className="mt-4 flex justify-end gap-2">
          <button type="button" onClick={onClose} className="rounded px-3 py-1 hover:bg-neutral-800" data-testid="send-close">
            {done || !jobId ? t('devices.send.close') : t('devices.send.background')}
          </button>
          {!jobId && (
            <button
              type="button"
              data-testid="send-submit"
              disabled={!chosen || sending}
              onClick={() => void send()}
              className="rounded bg-sky-700 px-3 py-1 text-white hover:bg-sky-600 disabled:opacity-50"
            >
              {sending ? t('devices.send.sending') : t('devices.send.submit')}
            </button>
          )}
        </div>
      </div>
    </div>
  );
}

/** "Send to device" (C-STORE job) for a study, with its progress; only for image:send. */
export function SendToDevice({ studyUid }: { studyUid: string }) {
  const t = useT();
  const me = useSession((s) => s.me);
  const [open, setOpen] = useState(false);
  if (!hasPermission(me, 'image:send')) return null;
  return (
    <>
      <button
        type="button"
        data-testid="send-to-device"
        onClick={() => setOpen(true)}
        className="ml-auto shrink-0 rounded border border-neutral-700 px-2 py-0.5 text-neutral-200 hover:bg-neutral-800"
      >
        {t('devices.send.button')}
      </button>
      {open && <SendDialog studyUid={studyUid} onClose={() => setOpen(false)} />}
    </>
  );
}
