'use client';

import { useQueryClient } from '@tanstack/react-query';
import Link from 'next/link';
import { useState, type FormEvent } from 'react';
import { Modal } from '@/components/devices/DeviceDialog';
import { Pager } from '@/components/shell/Pager';
import { DEFAULT_EXPORT, exportFileName, exportParams, studiesErrorMessage, type ExportOptions } from '@/lib/admin/studies';
import { describeError } from '@/lib/api/errors';
import type { SeriesSummary, StudySummary } from '@/lib/api/types';
import { hasPermission, useSession } from '@/lib/auth/store';
import { displayDate } from '@/lib/dates';
import { formatPersonName } from '@/lib/dicom/personName';
import { useLocale, useT } from '@/lib/i18n';
import { DEFAULT_FILTERS, deleteSeries, deleteStudy, downloadStudyZip, useStudies, useStudy, type StudyFilters } from '@/lib/queries/studies';
import { BUTTON, FIELD, PRIMARY } from './AdminLayout';

type Target = { study: StudySummary; series: SeriesSummary | null };

const DANGER = 'rounded border border-red-300 px-2 py-0.5 text-sm text-red-700 hover:bg-red-50 disabled:opacity-50';

function patientLabel(s: StudySummary): string {
  const name = formatPersonName(s.patient_name);
  return s.patient_id ? `${name} (${s.patient_id})` : name;
}

/** Asks before a deletion, naming what goes: patient, date, description, instances; a box must be ticked. */
function DeleteDialog({ target, onClose }: { target: Target; onClose: () => void }) {
  const t = useT();
  const { locale } = useLocale();
  const client = useQueryClient();
  const [ack, setAck] = useState(false);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const { study, series } = target;
  const uid = study.study_instance_uid;

  const confirm = async () => {
    setBusy(true);
    setError(null);
    try {
      if (series) await deleteSeries(uid, series.series_instance_uid, locale);
      else await deleteStudy(uid, locale);
      await Promise.all([
        client.invalidateQueries({ queryKey: ['studies'] }),
        client.invalidateQueries({ queryKey: ['study', uid] }),
      ]);
      onClose();
    } catch (err) {
      setError(studiesErrorMessage(t, describeError(err)));
    } finally {
      setBusy(false);
    }
  };

  const title = series ? t('adminStudies.delete.seriesTitle') : t('adminStudies.delete.studyTitle');
  return (
    <Modal label={title} testId="study-delete-dialog" onClose={onClose}>
      <dl className="grid grid-cols-[auto_1fr] gap-x-3 gap-y-1">
        <dt className="text-slate-500">{t('adminStudies.col.patient')}</dt>
        <dd data-testid="delete-patient">{patientLabel(study)}</dd>
        <dt className="text-slate-500">{t('adminStudies.col.date')}</dt>
        <dd>{displayDate(study.study_date) || '—'}</dd>
        <dt className="text-slate-500">{t('adminStudies.col.description')}</dt>
        <dd>{study.study_description || '—'}</dd>
        {series && (
          <>
            <dt className="text-slate-500">{t('adminStudies.series.label')}</dt>
            <dd>
              {[series.series_number != null ? `#${series.series_number}` : '', series.modality, series.series_description]
                .filter(Boolean)
                .join(' · ')}
            </dd>
          </>
        )}
        <dt className="text-slate-500">{t('adminStudies.col.instances')}</dt>
        <dd data-testid="delete-instances">{series ? series.number_of_instances : study.number_of_instances}</dd>
      </dl>
      <p className="mt-3 text-red-700">{series ? t('adminStudies.delete.seriesWarning') : t('adminStudies.delete.studyWarning')}</p>
      <label className="mt-3 flex items-center gap-2">
        <input type="checkbox" data-testid="delete-ack" checked={ack} onChange={(e) => setAck(e.target.checked)} />
        {t('adminStudies.delete.ack')}
      </label>
      {error && (
        <p role="alert" data-testid="delete-error" className="mt-2 text-red-600">
          {error}
        </p>
      )}
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" autoFocus data-testid="delete-cancel" onClick={onClose} className={BUTTON}>
          {t('admin.cancel')}
        </button>
        <button
          type="button"
          data-testid="delete-confirm"
          disabled={!ack || busy}
          onClick={() => void confirm()}
          className="rounded bg-red-700 px-3 py-1 text-sm text-white hover:bg-red-800 disabled:opacity-50"
        >
          {busy ? t('adminStudies.delete.deleting') : t('admin.delete')}
        </button>
      </div>
    </Modal>
  );
}

/** The export's options (de-identified by default, with Retain UIDs and Clean Descriptors), then the zip. */
function ExportDialog({ study, onClose }: { study: StudySummary; onClose: () => void }) {
  const t = useT();
  const { locale } = useLocale();
  const [options, setOptions] = useState<ExportOptions>(DEFAULT_EXPORT);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const set = (key: keyof ExportOptions, value: boolean) => setOptions((o) => ({ ...o, [key]: value }));

  const download = async () => {
    setBusy(true);
    setError(null);
    try {
      const name = exportFileName(study.patient_id, study.study_instance_uid, options.deidentify);
      await downloadStudyZip(study.study_instance_uid, exportParams(options), name, locale);
      onClose();
    } catch (err) {
      setError(studiesErrorMessage(t, describeError(err)));
    } finally {
      setBusy(false);
    }
  };

  return (
    <Modal label={t('adminStudies.export.title')} testId="study-export-dialog" onClose={onClose}>
      <p className="mb-3">
        {patientLabel(study)} · {displayDate(study.study_date) || '—'} · {study.study_description || '—'}
      </p>
      <label className="flex items-center gap-2">
        <input type="checkbox" name="deidentify" checked={options.deidentify} onChange={(e) => set('deidentify', e.target.checked)} />
        {t('adminStudies.export.deidentify')}
      </label>
      <div className={`ml-6 mt-1 flex flex-col gap-1 ${options.deidentify ? '' : 'opacity-50'}`}>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            name="retain_uids"
            disabled={!options.deidentify}
            checked={options.deidentify && options.retainUids}
            onChange={(e) => set('retainUids', e.target.checked)}
          />
          {t('adminStudies.export.retainUids')}
        </label>
        <label className="flex items-center gap-2">
          <input
            type="checkbox"
            name="clean_descriptors"
            disabled={!options.deidentify}
            checked={options.deidentify && options.cleanDescriptors}
            onChange={(e) => set('cleanDescriptors', e.target.checked)}
          />
          {t('adminStudies.export.cleanDescriptors')}
        </label>
      </div>
      <p className="mt-3 text-slate-500">{options.deidentify ? t('adminStudies.export.deidentifyHint') : t('adminStudies.export.plainHint')}</p>
      {error && (
        <p role="alert" data-testid="export-error" className="mt-2 text-red-600">
          {error}
        </p>
      )}
      <div className="mt-4 flex justify-end gap-2">
        <button type="button" onClick={onClose} className={BUTTON}>
          {t('admin.cancel')}
        </button>
        <button type="button" data-testid="export-download" disabled={busy} onClick={() => void download()} className={PRIMARY}>
          {busy ? t('adminStudies.export.preparing') : t('adminStudies.export.download')}
        </button>
      </div>
    </Modal>
  );
}

/** A study's series, each with its delete button (image:delete). */
function SeriesRows({ study, canDelete, onDelete }: { study: StudySummary; canDelete: boolean; onDelete: (t: Target) => void }) {
  const t = useT();
  const { data, error, isLoading } = useStudy(study.study_instance_uid);
  if (isLoading) return <p className="px-4 py-2 text-slate-500">{t('common.loading')}</p>;
  if (error) return <p className="px-4 py-2 text-red-600">{studiesErrorMessage(t, describeError(error))}</p>;
  return (
    <table className="ml-6 my-1 text-sm" data-testid="series-table">
      <tbody>
        {data?.series.map((s) => (
          <tr key={s.series_instance_uid} data-testid="series-row" data-series-uid={s.series_instance_uid} data-modality={s.modality}>
            <td className="px-2 py-0.5 tabular-nums">{s.series_number ?? ''}</td>
            <td className="px-2 py-0.5" translate="no">{s.modality}</td>
            <td className="px-2 py-0.5">{s.series_description}</td>
            <td className="px-2 py-0.5">{t('adminStudies.series.instances', { n: s.number_of_instances })}</td>
            <td className="px-2 py-0.5">
              {canDelete && (
                <button type="button" data-testid="series-delete" className={DANGER} onClick={() => onDelete({ study, series: s })}>
                  {t('adminStudies.series.delete')}
                </button>
              )}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

/** Studies for the administrator: search, delete a study or one series (asked first), export a zip. */
export function StudyAdmin() {
  const t = useT();
  const me = useSession((s) => s.me);
  const canDelete = hasPermission(me, 'image:delete');
  const canExport = hasPermission(me, 'image:export');
  const [form, setForm] = useState({ q: '', modality: '', study_date_from: '', study_date_to: '' });
  const [filters, setFilters] = useState<StudyFilters>(DEFAULT_FILTERS);
  const [open, setOpen] = useState<string | null>(null);
  const [deleting, setDeleting] = useState<Target | null>(null);
  const [exporting, setExporting] = useState<StudySummary | null>(null);
  const { data, error, isFetching } = useStudies(filters);

  const search = (e: FormEvent) => {
    e.preventDefault();
    setFilters((f) => ({ ...f, ...form, offset: 0 }));
  };

  return (
    <div className="flex flex-col gap-3">
      <h1 className="text-lg font-semibold">{t('admin.sections.studies')}</h1>
      <form onSubmit={search} className="flex flex-wrap items-end gap-2 text-sm" data-testid="admin-study-search">
        <label className="flex flex-col">
          <span className="text-slate-600">{t('adminStudies.filter.q')}</span>
          <input name="q" value={form.q} onChange={(e) => setForm({ ...form, q: e.target.value })} className={`${FIELD} w-56`} />
        </label>
        <label className="flex flex-col">
          <span className="text-slate-600">{t('adminStudies.filter.modality')}</span>
          <input name="modality" value={form.modality} onChange={(e) => setForm({ ...form, modality: e.target.value })} className={`${FIELD} w-20`} />
        </label>
        {(['study_date_from', 'study_date_to'] as const).map((key) => (
          <label key={key} className="flex flex-col">
            <span className="text-slate-600">{t(`adminStudies.filter.${key}`)}</span>
            <input type="date" name={key} value={form[key]} onChange={(e) => setForm({ ...form, [key]: e.target.value })} className={FIELD} />
          </label>
        ))}
        <button type="submit" data-testid="admin-study-submit" className={PRIMARY}>
          {t('adminStudies.search')}
        </button>
      </form>
      {error && (
        <p role="alert" className="text-sm text-red-600">
          {studiesErrorMessage(t, describeError(error))}
        </p>
      )}
      <table className={`w-full rounded bg-white text-sm shadow-sm ${isFetching ? 'opacity-70' : ''}`} data-testid="admin-study-table">
        <thead className="bg-slate-50 text-slate-600">
          <tr>
            {['patient', 'date', 'description', 'modalities', 'series', 'instances'].map((c) => (
              <th key={c} className="px-2 py-2 text-left font-medium">
                {t(`adminStudies.col.${c}`)}
              </th>
            ))}
            <th className="px-2 py-2" />
          </tr>
        </thead>
        <tbody>
          {data?.items.map((s) => (
            <StudyRow
              key={s.study_instance_uid}
              study={s}
              expanded={open === s.study_instance_uid}
              onToggle={() => setOpen(open === s.study_instance_uid ? null : s.study_instance_uid)}
              canDelete={canDelete}
              canExport={canExport}
              onDelete={setDeleting}
              onExport={setExporting}
            />
          ))}
        </tbody>
      </table>
      {data && data.items.length === 0 && <p className="text-sm text-slate-500" data-testid="admin-study-empty">{t('adminStudies.empty')}</p>}
      <Pager
        total={data?.total ?? 0}
        offset={filters.offset}
        limit={filters.limit}
        onOffset={(offset) => setFilters((f) => ({ ...f, offset }))}
        onLimit={(limit) => setFilters((f) => ({ ...f, limit, offset: 0 }))}
        busy={isFetching}
        totalTestId="admin-study-total"
      />
      {deleting && <DeleteDialog target={deleting} onClose={() => setDeleting(null)} />}
      {exporting && <ExportDialog study={exporting} onClose={() => setExporting(null)} />}
    </div>
  );
}

function StudyRow({
  study: s,
  expanded,
  onToggle,
  canDelete,
  canExport,
  onDelete,
  onExport,
}: {
  study: StudySummary;
  expanded: boolean;
  onToggle: () => void;
  canDelete: boolean;
  canExport: boolean;
  onDelete: (t: Target) => void;
  onExport: (s: StudySummary) => void;
}) {
  const t = useT();
  return (
    <>
      <tr data-testid="admin-study-row" data-study-uid={s.study_instance_uid} data-patient-id={s.patient_id} className="border-t border-slate-100">
        <td className="px-2 py-1">{patientLabel(s)}</td>
        <td className="px-2 py-1 whitespace-nowrap">{displayDate(s.study_date)}</td>
        <td className="px-2 py-1">{s.study_description}</td>
        <td className="px-2 py-1" translate="no">{s.modalities}</td>
        <td className="px-2 py-1 tabular-nums" data-testid="admin-study-series-count">{s.number_of_series}</td>
        <td className="px-2 py-1 tabular-nums">{s.number_of_instances}</td>
        <td className="px-2 py-1">
          <div className="flex justify-end gap-1">
            <Link href={`/viewer/?study=${encodeURIComponent(s.study_instance_uid)}`} className={BUTTON}>
              {t('adminStudies.open')}
            </Link>
            <button type="button" data-testid="study-series-toggle" aria-expanded={expanded} className={BUTTON} onClick={onToggle}>
              {expanded ? t('adminStudies.series.hide') : t('adminStudies.series.show')}
            </button>
            {canExport && (
              <button type="button" data-testid="study-export" className={BUTTON} onClick={() => onExport(s)}>
                {t('adminStudies.export.button')}
              </button>
            )}
            {canDelete && (
              <button type="button" data-testid="study-delete" className={DANGER} onClick={() => onDelete({ study: s, series: null })}>
                {t('adminStudies.delete.study')}
              </button>
            )}
          </div>
        </td>
      </tr>
      {expanded && (
        <tr>
          <td colSpan={7}>
            <SeriesRows study={s} canDelete={canDelete} onDelete={onDelete} />
          </td>
        </tr>
      )}
    </>
  );
}
