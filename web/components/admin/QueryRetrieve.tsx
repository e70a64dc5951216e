'use client';

import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { EMPTY_REMOTE_SEARCH, hasCriteria, remoteFilters, RETURN_KEYS, studiesErrorMessage, type RemoteSearch } from '@/lib/admin/studies';
import { describeError } from '@/lib/api/errors';
import { hasPermission, useSession } from '@/lib/auth/store';
import { displayDate } from '@/lib/dates';
import { jobDone } from '@/lib/devices/form';
import { formatPersonName } from '@/lib/dicom/personName';
import { useLocale, useT } from '@/lib/i18n';
import { queryDevice, retrieveStudy, useDevices, useJob, type RemoteMatch } from '@/lib/queries/devices';
import { BUTTON, FIELD, PRIMARY } from './AdminLayout';

const FIELDS: { key: keyof RemoteSearch; type?: string; width: string }[] = [
  { key: 'patientId', width: 'w-36' },
  { key: 'patientName', width: 'w-40' },
  { key: 'dateFrom', type: 'date', width: '' },
  { key: 'dateTo', type: 'date', width: '' },
  { key: 'modality', width: 'w-20' },
  { key: 'accession', width: 'w-36' },
];

/** A retrieve job's state, polled until it ends; a completed one links to the study, now local. */
function RetrieveState({ jobId, studyUid }: { jobId: string; studyUid: string }) {
  const t = useT();
  const { data: job, error } = useJob(jobId);
  if (error) return <span className="text-red-600">{studiesErrorMessage(t, describeError(error))}</span>;
  if (!job) return <span className="text-slate-500">{t('qr.status.queued')}</span>;
  const stored = job.completed + job.warning;
  return (
    <span data-testid="retrieve-job" data-status={job.status} className="flex flex-wrap items-center gap-2">
      <span className={job.status === 'failed' ? 'text-red-700' : job.status === 'partial' ? 'text-amber-700' : job.status === 'completed' ? 'text-emerald-700' : 'text-sky-700'}>
        {t(`qr.status.${job.status}`)}
        {job.total > 0 && ` — ${t('devices.send.progress', { done: stored, total: job.total })}`}
        {job.failed > 0 && ` · ${t('devices.send.failedCount', { n: job.failed })}`}
      </span>
      {jobDone(job) && stored > 0 && (
        <Link data-testid="retrieved-open" href={`/viewer/?study=${encodeURIComponent(studyUid)}`} className="text-sky-700 underline">
          {t('qr.open')}
        </Link>
      )}
      {job.error && <span className="text-red-600">{job.error}</span>}
    </span>
  );
}

/** Query/retrieve: search a registered remote PACS (C-FIND), fetch a study from it (C-MOVE to us). */
export function QueryRetrieve() {
  const t = useT();
  const { locale } = useLocale();
  const me = useSession((s) => s.me);
  const canRetrieve = hasPermission(me, 'image:create');
  const { data: devices, error: devicesError } = useDevices();
  // The registry says what a device may do with us, not what it answers: every enabled one is offered.
  const remotes = (devices?.items ?? []).filter((d) => d.enabled);
  const [deviceId, setDeviceId] = useState('');
  const chosenId = deviceId || remotes[0]?.id || '';
  const [form, setForm] = useState<RemoteSearch>(EMPTY_REMOTE_SEARCH);
  const [matches, setMatches] = useState<RemoteMatch[] | null>(null);
  const [finalStatus, setFinalStatus] = useState(0);
  const [searching, setSearching] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [jobs, setJobs] = useState<Record<string, string>>({});
  const [starting, setStarting] = useState<string | null>(null);

  const search = async (e: FormEvent) => {
    e.preventDefault();
    if (!chosenId) return;
    if (!hasCriteria(form)) {
      setError(t('qr.needCriteria'));
      return;
    }
    setSearching(true);
    setError(null);
    try {
      const result = await queryDevice(chosenId, remoteFilters(form), RETURN_KEYS, locale);
      setMatches(result.items);
      setFinalStatus(result.status);
    } catch (err) {
      setMatches(null);
      setError(studiesErrorMessage(t, describeError(err)));
    } finally {
      setSearching(false);
    }
  };

  const retrieve = async (studyUid: string) => {
    if (!chosenId) return;
    setStarting(studyUid);
    setError(null);
    try {
      const job = await retrieveStudy(chosenId, studyUid, locale);
      setJobs((j) => ({ ...j, [`${chosenId} ${studyUid}`]: job.id }));
    } catch (err) {
      setError(studiesErrorMessage(t, describeError(err)));
    } finally {
      setStarting(null);
    }
  };

  return (
    <div className="flex flex-col gap-3">
      <div className="flex items-center gap-3">
        <h1 className="text-lg font-semibold">{t('admin.sections.queryRetrieve')}</h1>
        <Link href="/devices/" className="ml-auto text-sm text-sky-700 underline">
          {t('qr.devices')}
        </Link>
      </div>
      {devicesError && (
        <p role="alert" className="text-sm text-red-600">
          {studiesErrorMessage(t, describeError(devicesError))}
        </p>
      )}
      {devices && remotes.length === 0 && (
        <p className="text-sm text-slate-500" data-testid="qr-no-remotes">
          {t('qr.noRemotes')}
        </p>
      )}
      <form onSubmit={(e) => void search(e)} className="flex flex-wrap items-end gap-2 text-sm" data-testid="qr-form">
        <label className="flex flex-col">
          <span className="text-slate-600">{t('qr.remote')}</span>
          <select
            name="device"
            data-testid="qr-device"
            value={chosenId}
            onChange={(e) => {
              setDeviceId(e.target.value);
              setMatches(null);
            }}
            className={`${FIELD} w-56`}
          >
            {remotes.map((d) => (
              <option key={d.id} value={d.id}>
                {d.ae_title} — {d.host}:{d.port}
              </option>
            ))}
          </select>
        </label>
        {FIELDS.map(({ key, type, width }) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`qr.filter.${key}`)}</span>
            <input
              name={key}
              type={type ?? 'text'}
              value={form[key]}
              onChange={(e) => setForm({ ...form, [key]: e.target.value })}
              className={`${FIELD} ${width}`}
            />
          </label>
        ))}
        <button type="submit" data-testid="qr-search" disabled={!chosenId || searching} className={PRIMARY}>
          {searching ? t('qr.searching') : t('qr.search')}
        </button>
      </form>
      {error && (
        <p role="alert" data-testid="qr-error" className="text-sm text-red-600">
          {error}
        </p>
      )}
      {matches && (
        <>
          <p className="text-sm text-slate-500" data-testid="qr-count">
            {t('qr.count', { n: matches.length })}
            {/* Not Success (0000): cancelled, refused or cut at the match limit; the list may be partial. */}
            {finalStatus !== 0 && <span className="ml-2 text-amber-700">{t('qr.incomplete')}</span>}
          </p>
          <table className="w-full rounded bg-white text-sm shadow-sm" data-testid="qr-table">
            <thead className="bg-slate-50 text-slate-600">
              <tr>
                {['patient', 'date', 'description', 'modalities', 'accession', 'instances', 'action'].map((c) => (
                  <th key={c} className="px-2 py-2 text-left font-medium">
                    {t(`qr.col.${c}`)}
                  </th>
                ))}
              </tr>
            </thead>
            <tbody>
              {matches.map((m, i) => {
                const uid = m.StudyInstanceUID ?? '';
                const jobId = jobs[`${chosenId} ${uid}`];
                const name = formatPersonName(m.PatientName);
                return (
                  <tr key={uid || i} data-testid="qr-row" data-study-uid={uid} className="border-t border-slate-100 align-top">
                    <td className="px-2 py-1">{m.PatientID ? `${name} (${m.PatientID})` : name}</td>
                    <td className="px-2 py-1 whitespace-nowrap">{displayDate(m.StudyDate)}</td>
                    <td className="px-2 py-1">{m.StudyDescription}</td>
                    <td className="px-2 py-1" translate="no">{m.ModalitiesInStudy}</td>
                    <td className="px-2 py-1" translate="no">{m.AccessionNumber}</td>
                    <td className="px-2 py-1 tabular-nums">{m.NumberOfStudyRelatedInstances}</td>
                    <td className="px-2 py-1">
                      {jobId ? (
                        <RetrieveState jobId={jobId} studyUid={uid} />
                      ) : (
                        canRetrieve &&
                        uid && (
                          <button type="button" data-testid="qr-retrieve" disabled={starting === uid} className={BUTTON} onClick={() => void retrieve(uid)}>
                            {t('qr.retrieve')}
                          </button>
                        )
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </>
      )}
    </div>
  );
}
