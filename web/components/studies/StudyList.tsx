'use client';

import { useRouter } from 'next/navigation';
import { useEffect, useState } from 'react';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { StudySortKey, StudySummary } from '@/lib/api/types';
import { ageAt, displayDate, quickRange, type QuickRange } from '@/lib/dates';
import { formatPersonName } from '@/lib/dicom/personName';
import { useT } from '@/lib/i18n';
import { DEFAULT_FILTERS, useStudies, type StudyFilters } from '@/lib/queries/studies';
import { StudyThumbnail } from './StudyThumbnail';

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF', 'OT'];
const PAGE_SIZES = [25, 50, 100];

function useDebounced<T>(value: T, ms: number): T {
  const [v, setV] = useState(value);
  useEffect(() => {
    const id = setTimeout(() => setV(value), ms);
    return () => clearTimeout(id);
  }, [value, ms]);
  return v;
}

export function viewerHref(uid: string): string {
  return `/viewer/?study=${encodeURIComponent(uid)}`;
}

export function StudyList() {
  const t = useT();
  const router = useRouter();
  const [filters, setFilters] = useState<StudyFilters>(DEFAULT_FILTERS);
  const [text, setText] = useState({ q: '', accession_number: '' });
  const debounced = useDebounced(text, 300);
  const [selected, setSelected] = useState<string | null>(null);

  useEffect(() => {
    setFilters((f) =>
      f.q === debounced.q && f.accession_number === debounced.accession_number
        ? f
        : { ...f, ...debounced, offset: 0 },
    );
  }, [debounced]);

  const { data, isFetching, error } = useStudies(filters);
  const update = (patch: Partial<StudyFilters>) => setFilters((f) => ({ ...f, ...patch, offset: 0 }));
  const quick = (kind: QuickRange) => {
    const r = quickRange(kind);
    update({ study_date_from: r.from, study_date_to: r.to });
  };
  const sortBy = (key: StudySortKey) =>
    update({ sort: filters.sort === `-${key}` ? key : filters.sort === key ? `-${key}` : `-${key}` });
  const sortMark = (key: StudySortKey) =>
    filters.sort === key ? ' ▲' : filters.sort === `-${key}` ? ' ▼' : '';
  const open = (s: StudySummary) => router.push(viewerHref(s.study_instance_uid));

  const total = data?.total ?? 0;
  const first = total === 0 ? 0 : filters.offset + 1;
  const last = Math.min(total, filters.offset + filters.limit);

  const Header = ({ k, label }: { k: StudySortKey; label: string }) => (
    <th className="px-2 py-2 text-left font-medium">
      <button type="button" onClick={() => sortBy(k)} data-testid={`sort-${k}`} className="hover:underline">
        {label}
        {sortMark(k)}
      </button>
    </th>
  );

  return (
    <div className="flex h-full flex-col gap-3 p-4">
      <div className="flex flex-wrap items-end gap-2 rounded bg-white p-3 shadow-sm" data-testid="filters">
        <label className="text-xs text-slate-600">
          {t('worklist.patient')}
          <input
            data-testid="filter-q"
            value={text.q}
            placeholder={t('worklist.patientPlaceholder')}
            onChange={(e) => setText((s) => ({ ...s, q: e.target.value }))}
            className="mt-0.5 block w-52 rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.accession')}
          <input
            data-testid="filter-accession"
            value={text.accession_number}
            onChange={(e) => setText((s) => ({ ...s, accession_number: e.target.value }))}
            className="mt-0.5 block w-36 rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.modality')}
          <select
            data-testid="filter-modality"
            value={filters.modality}
            onChange={(e) => update({ modality: e.target.value })}
            className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          >
            <option value="">{t('worklist.all')}</option>
            {MODALITIES.map((m) => (
              <option key={m} value={m}>
                {m}
              </option>
            ))}
          </select>
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateFrom')}
          <input
            type="date"
            data-testid="filter-from"
            value={filters.study_date_from}
            onChange={(e) => update({ study_date_from: e.target.value })}
            className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateTo')}
          <input
            type="date"
            data-testid="filter-to"
            value={filters.study_date_to}
            onChange={(e) => update({ study_date_to: e.target.value })}
            className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <div className="flex gap-1">
          {(['today', '3days', 'week'] as const).map((k) => (
            <button
              key={k}
              type="button"
              data-testid={`quick-${k}`}
              onClick={() => quick(k)}
              className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100"
            >
              {t(`worklist.quick.${k}`)}
            </button>
          ))}
          <button
            type="button"
            data-testid="filter-clear"
            onClick={() => {
              setText({ q: '', accession_number: '' });
              setFilters(DEFAULT_FILTERS);
            }}
            className="rounded px-2 py-1 text-sm text-sky-700 hover:underline"
          >
            {t('worklist.clear')}
          </button>
        </div>
      </div>

      {error && (
        <p role="alert" className="text-sm text-red-600">
          {errorMessage(t, describeError(error))}
        </p>
      )}

      <div className="min-h-0 flex-1 overflow-auto rounded bg-white shadow-sm">
        <table className="w-full text-sm" data-testid="study-table">
          <thead className="sticky top-0 bg-slate-50 text-slate-600">
            <tr>
              <th className="w-14 px-2 py-2" />
              <Header k="patient_name" label={t('worklist.col.name')} />
              <Header k="patient_id" label={t('worklist.col.id')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.sexAge')}</th>
              <Header k="accession_number" label={t('worklist.col.accession')} />
              <Header k="study_date" label={t('worklist.col.date')} />
              <Header k="modalities" label={t('worklist.col.modality')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.description')}</th>
              <th className="px-2 py-2 text-right font-medium">{t('worklist.col.images')}</th>
              <Header k="received_at" label={t('worklist.col.received')} />
            </tr>
          </thead>
          <tbody>
            {data?.items.map((s) => (
              <tr
                key={s.study_instance_uid}
                data-testid="study-row"
                data-study-uid={s.study_instance_uid}
                tabIndex={0}
                onClick={() => setSelected(s.study_instance_uid)}
                onDoubleClick={() => open(s)}
                onKeyDown={(e) => e.key === 'Enter' && open(s)}
                className={`cursor-default border-t border-slate-100 ${
                  selected === s.study_instance_uid ? 'bg-sky-100' : 'hover:bg-slate-50'
                }`}
              >
                <td className="px-2 py-1">
                  <StudyThumbnail studyUid={s.study_instance_uid} />
                </td>
                <td className="px-2 py-1 font-medium">{formatPersonName(s.patient_name)}</td>
                <td className="px-2 py-1">{s.patient_id}</td>
                <td className="px-2 py-1">
                  {[s.patient_sex, ageAt(s.patient_birth_date, s.study_date)].filter(Boolean).join(' / ')}
                </td>
                <td className="px-2 py-1">{s.accession_number}</td>
                <td className="px-2 py-1 whitespace-nowrap">{displayDate(s.study_date)}</td>
                <td className="px-2 py-1">{s.modalities.join(', ')}</td>
                <td className="max-w-64 truncate px-2 py-1" title={s.study_description ?? ''}>
                  {s.study_description}
                </td>
                <td className="px-2 py-1 text-right tabular-nums">
                  {s.number_of_series} / {s.number_of_instances}
                </td>
                <td className="px-2 py-1 whitespace-nowrap text-slate-500">
                  {s.received_at ? new Date(s.received_at).toLocaleString() : ''}
                </td>
              </tr>
            ))}
          </tbody>
        </table>
        {data && data.items.length === 0 && (
          <p className="p-8 text-center text-slate-500" data-testid="no-studies">
            {t('worklist.empty')}
          </p>
        )}
      </div>

      <div className="flex items-center gap-3 text-sm text-slate-600">
        <span data-testid="study-total">{t('worklist.range', { first, last, total })}</span>
        {isFetching && <span>{t('common.loading')}</span>}
        <div className="ml-auto flex items-center gap-2">
          <select
            aria-label={t('worklist.pageSize')}
            value={filters.limit}
            onChange={(e) => update({ limit: Number(e.target.value) })}
            className="rounded border border-slate-300 px-1 py-0.5"
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {t('worklist.perPage', { n })}
              </option>
            ))}
          </select>
          <button
            type="button"
            data-testid="page-prev"
            disabled={filters.offset === 0}
            onClick={() => setFilters((f) => ({ ...f, offset: Math.max(0, f.offset - f.limit) }))}
            className="rounded border border-slate-300 px-2 py-0.5 disabled:opacity-40"
          >
            {t('worklist.prev')}
          </button>
          <button
            type="button"
            data-testid="page-next"
            disabled={last >= total}
            onClick={() => setFilters((f) => ({ ...f, offset: f.offset + f.limit }))}
            className="rounded border border-slate-300 px-2 py-0.5 disabled:opacity-40"
          >
            {t('worklist.next')}
          </button>
        </div>
      </div>
    </div>
  );
}
