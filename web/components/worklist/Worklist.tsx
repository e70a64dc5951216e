'use client';

import { useQuery } from '@tanstack/react-query';
import { usePathname, useRouter, useSearchParams } from 'next/navigation';
import { useEffect, useState, type ReactNode } from 'react';
import { Pager } from '@/components/shell/Pager';
import { StudyThumbnail } from '@/components/studies/StudyThumbnail';
import { NameOrderSwitch, usePersonName } from '@/components/patients/NameOrderSwitch';
import { api } from '@/lib/api/client';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { Page } from '@/lib/api/types';
import { hasPermission, useSession } from '@/lib/auth/store';
import { displayDate, quickRange, type QuickRange } from '@/lib/dates';
import { useT } from '@/lib/i18n';
import { PRIORITIES, READ_STATUSES, SOURCES, type WorklistItem } from '@/lib/orders/types';
import { ageLabel, displayName, sexLabel } from '@/lib/patients/names';
import { useWorklist, useWorklistActions } from '@/lib/queries/worklist';
import {
  DEFAULT_WORKLIST,
  filtersFromSearch,
  nextSort,
  rememberWorklistSearch,
  searchOfFilters,
  SORTABLE,
  type WorklistFilters,
} from '@/lib/worklist/urlState';
import { useNarrowScreen } from '@/lib/layout/useNarrowScreen';
import { ClaimCell } from './ClaimCell';
import { StudyCard } from './StudyCard';

const MODALITIES = ['CT', 'MR', 'CR', 'DX', 'US', 'MG', 'XA', 'PT', 'NM', 'RF', 'OT'];
const COMPACT_KEY = 'hf.worklist.compact';
const TEXT_FILTERS = ['q', 'accession', 'body_part', 'department'] as const;
type TextFilter = (typeof TEXT_FILTERS)[number];

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

/** Filters and sort are the URL's: written with replace (no history entry per keystroke). */
function useUrlFilters(): [WorklistFilters, (next: WorklistFilters) => void] {
  const params = useSearchParams();
  const router = useRouter();
  const pathname = usePathname();
  const search = params.toString();
  const filters = filtersFromSearch(search);
  useEffect(() => rememberWorklistSearch(search), [search]);
  const set = (next: WorklistFilters) => router.replace(`${pathname}${searchOfFilters(next)}`, { scroll: false });
  return [filters, set];
}

function useCompactRows(): [boolean, (v: boolean) => void] {
  const [compact, setCompact] = useState(false);
  useEffect(() => {
    try {
      setCompact(window.localStorage.getItem(COMPACT_KEY) === '1');
    } catch {
      /* private mode */
    }
  }, []);
  const set = (v: boolean) => {
    setCompact(v);
    try {
      window.localStorage.setItem(COMPACT_KEY, v ? '1' : '0');
    } catch {
      /* private mode */
    }
  };
  return [compact, set];
}

/** Readers to assign to: the user list when this user may read it, else just themselves. */
function useAssignees(canList: boolean) {
  return useQuery({
    queryKey: ['users', 'assignees'],
    enabled: canList,
    queryFn: async () =>
      (await api.get<Page<{ id: string; username: string; display_name: string; active: boolean; roles: string[] }>>(
        '/api/users',
        { params: { limit: 500 } },
      )).data.items.filter((u) => u.active && u.roles.includes('doctor')),
  });
}

function Select({ testId, label, value, onChange, children }: { testId: string; label: string; value: string; onChange: (v: string) => void; children: ReactNode }) {
  return (
    <label className="text-xs text-slate-600">
      {label}
      <select
        data-testid={testId}
        value={value}
        onChange={(e) => onChange(e.target.value)}
        className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
      >
        {children}
      </select>
    </label>
  );
}

const PRIORITY_STYLE: Record<string, string> = {
  stat: 'bg-red-600 text-white',
  urgent: 'bg-orange-100 text-orange-800',
  routine: 'text-slate-500',
};
const STATUS_STYLE: Record<string, string> = {
  unread: 'bg-slate-100 text-slate-700',
  in_reading: 'bg-sky-100 text-sky-800',
  preliminary: 'bg-amber-100 text-amber-800',
  final: 'bg-emerald-100 text-emerald-800',
};

export function Worklist() {
  const t = useT();
  const router = useRouter();
  const me = useSession((s) => s.me);
  const order = usePersonName();
  const [filters, setFilters] = useUrlFilters();
  const [text, setText] = useState<Record<TextFilter, string>>(() => ({
    q: filters.q,
    accession: filters.accession,
    body_part: filters.body_part,
    department: filters.department,
  }));
  const debounced = useDebounced(text, 300);
  const [selected, setSelected] = useState<string | null>(null);
  const [compact, setCompact] = useCompactRows();
  const [actionError, setActionError] = useState<string | null>(null);
  const canAssign = hasPermission(me, 'worklist:assign');
  const assignees = useAssignees(canAssign && hasPermission(me, 'user:read'));
  const actions = useWorklistActions();
  const narrow = useNarrowScreen();
  // Phones: the patient search shows, the other filters open on demand.
  const [filtersOpen, setFiltersOpen] = useState(false);

  useEffect(() => {
    if (TEXT_FILTERS.every((k) => filters[k] === debounced[k])) return;
    setFilters({ ...filters, ...debounced, offset: 0 });
    // Only a settled change of the typed text writes the URL.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [debounced]);

  const { data, isFetching, error } = useWorklist(filters);
  const update = (patch: Partial<WorklistFilters>) => setFilters({ ...filters, ...patch, offset: 0 });
  const quick = (kind: QuickRange) => {
    const r = quickRange(kind);
    update({ date_from: r.from, date_to: r.to });
  };
  const sortMark = (key: string) => (filters.sort === key ? ' ▲' : filters.sort === `-${key}` ? ' ▼' : '');
  const open = (s: WorklistItem) => router.push(viewerHref(s.study_instance_uid));
  const run = async (p: Promise<unknown>) => {
    setActionError(null);
    try {
      await p;
    } catch (err) {
      const info = describeError(err);
      setActionError(
        info.code === 'claimed_by_other' ? t('worklist.errors.claimed_by_other') : errorMessage(t, info),
      );
    }
  };

  const total = data?.total ?? 0;
  const cell = compact ? 'px-2 py-0.5' : 'px-2 py-1';
  const meId = me?.id ?? '';

  /** Claim or release: the table's last cell and the phone card's button. */
  const claimButton = (s: WorklistItem) =>
    s.claimed_by?.id === meId ? (
      <button
        type="button"
        data-testid="release"
        onClick={(e) => {
          e.stopPropagation();
          void run(actions.release.mutateAsync(s.study_instance_uid));
        }}
        className="rounded border border-slate-300 px-2 py-0.5 text-xs hover:bg-slate-100"
      >
        {t('worklist.release')}
      </button>
    ) : (
      <button
        type="button"
        data-testid="claim"
        disabled={s.read_status === 'final'}
        onClick={(e) => {
          e.stopPropagation();
          void run(actions.claim.mutateAsync(s.study_instance_uid));
        }}
        className="rounded border border-sky-600 px-2 py-0.5 text-xs text-sky-700 hover:bg-sky-50 disabled:opacity-40"
      >
        {t('worklist.claim')}
      </button>
    );

  const Header = ({ k, label }: { k: (typeof SORTABLE)[number]; label: string }) => (
    <th className="px-2 py-2 text-left font-medium">
      <button type="button" onClick={() => update({ sort: nextSort(filters.sort, k) })} data-testid={`sort-${k}`} className="hover:underline">
        {label}
        {sortMark(k)}
      </button>
    </th>
  );
  const textInput = (key: TextFilter, testId: string, label: string, width: string, placeholder?: string, max = 64) => (
    <label className="text-xs text-slate-600">
      {label}
      <input
        data-testid={testId}
        value={text[key]}
        placeholder={placeholder}
        maxLength={max}
        onChange={(e) => setText((s) => ({ ...s, [key]: e.target.value }))}
        className={`mt-0.5 block ${width} rounded border border-slate-300 px-2 py-1 text-sm text-slate-900`}
      />
    </label>
  );

  return (
    <div className="flex h-full flex-col gap-3 p-2 md:p-4">
      <div className="flex flex-wrap gap-1" role="tablist" aria-label={t('worklist.statusLabel')}>
        {(['', ...READ_STATUSES] as const).map((s) => (
          <button
            key={s || 'all'}
            type="button"
            role="tab"
            aria-selected={filters.status === s}
            data-testid={`status-tab-${s || 'all'}`}
            onClick={() => update({ status: s })}
            className={`rounded px-3 py-1 text-sm ${filters.status === s ? 'bg-slate-800 text-white' : 'bg-white shadow-sm hover:bg-slate-100'}`}
          >
            {s ? t(`worklist.status.${s}`) : t('worklist.all')}
            {s && (
              <span className="ml-1 tabular-nums opacity-75" data-testid={`status-count-${s}`}>
                {data?.counts?.[s] ?? 0}
              </span>
            )}
          </button>
        ))}
      </div>
      <div className="flex flex-wrap items-end gap-2 rounded bg-white p-3 shadow-sm" data-testid="filters">
        {textInput('q', 'filter-q', t('worklist.patient'), 'w-44', t('worklist.patientPlaceholder'))}
        <button
          type="button"
          data-testid="filters-toggle"
          aria-expanded={filtersOpen}
          onClick={() => setFiltersOpen((o) => !o)}
          className="rounded border border-slate-300 px-2 py-1 text-sm md:hidden"
        >
          {t('worklist.moreFilters')}
        </button>
        <div className={`${filtersOpen ? 'flex' : 'hidden'} w-full flex-wrap items-end gap-2 md:contents`}>
        {textInput('accession', 'filter-accession', t('worklist.accession'), 'w-32', t('worklist.accessionPlaceholder'), 16)}
        <Select testId="filter-modality" label={t('worklist.modality')} value={filters.modality} onChange={(v) => update({ modality: v })}>
          <option value="">{t('worklist.all')}</option>
          {MODALITIES.map((m) => (
            <option key={m} value={m}>
              {m}
            </option>
          ))}
        </Select>
        <Select testId="filter-priority" label={t('worklist.priority')} value={filters.priority} onChange={(v) => update({ priority: v })}>
          <option value="">{t('worklist.all')}</option>
          {PRIORITIES.map((p) => (
            <option key={p} value={p}>
              {t(`orders.priority.${p}`)}
            </option>
          ))}
        </Select>
        <Select testId="filter-source" label={t('worklist.source')} value={filters.source} onChange={(v) => update({ source: v })}>
          <option value="">{t('worklist.all')}</option>
          {SOURCES.map((s) => (
            <option key={s} value={s}>
              {t(`orders.source.${s}`)}
            </option>
          ))}
        </Select>
        {textInput('body_part', 'filter-body-part', t('worklist.bodyPart'), 'w-24')}
        {textInput('department', 'filter-department', t('worklist.department'), 'w-28')}
        <Select testId="filter-assigned" label={t('worklist.assignedTo')} value={filters.assigned_to} onChange={(v) => update({ assigned_to: v })}>
          <option value="">{t('worklist.anyone')}</option>
          {meId && <option value={meId}>{t('worklist.me')}</option>}
          {assignees.data
            ?.filter((u) => u.id !== meId)
            .map((u) => (
              <option key={u.id} value={u.id} translate="no">
                {u.display_name || u.username}
              </option>
            ))}
        </Select>
        <label className="text-xs text-slate-600">
          {t('worklist.dateFrom')}
          <input
            type="date"
            data-testid="filter-from"
            value={filters.date_from}
            onChange={(e) => update({ date_from: e.target.value })}
            className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <label className="text-xs text-slate-600">
          {t('worklist.dateTo')}
          <input
            type="date"
            data-testid="filter-to"
            value={filters.date_to}
            onChange={(e) => update({ date_to: e.target.value })}
            className="mt-0.5 block rounded border border-slate-300 px-2 py-1 text-sm text-slate-900"
          />
        </label>
        <div className="flex gap-1">
          {(['today', '3days', 'week'] as const).map((k) => (
            <button key={k} type="button" data-testid={`quick-${k}`} onClick={() => quick(k)} className="rounded border border-slate-300 px-2 py-1 text-sm hover:bg-slate-100">
              {t(`worklist.quick.${k}`)}
            </button>
          ))}
          <button
            type="button"
            data-testid="filter-clear"
            onClick={() => {
              setText({ q: '', accession: '', body_part: '', department: '' });
              setFilters({ ...DEFAULT_WORKLIST, sort: filters.sort, limit: filters.limit });
            }}
            className="rounded px-2 py-1 text-sm text-sky-700 hover:underline"
          >
            {t('worklist.clear')}
          </button>
        </div>
        <div className="ml-auto flex items-end gap-3">
          <NameOrderSwitch />
          <label className="flex items-center gap-1 pb-1 text-sm text-slate-700">
            <input type="checkbox" data-testid="compact-rows" checked={compact} onChange={(e) => setCompact(e.target.checked)} />
            {t('worklist.compact')}
          </label>
        </div>
        </div>
      </div>

      {(error || actionError) && (
        <p role="alert" data-testid="worklist-error" className="text-sm text-red-600">
          {actionError ?? errorMessage(t, describeError(error))}
        </p>
      )}

      <div className="min-h-0 flex-1 overflow-auto rounded bg-white shadow-sm">
        {narrow ? (
          <ul data-testid="study-cards">
            {data?.items.map((s) => (
              <StudyCard
                key={s.study_instance_uid}
                item={s}
                meId={meId}
                order={order}
                priorityStyle={PRIORITY_STYLE[s.priority] ?? ''}
                statusStyle={STATUS_STYLE[s.read_status] ?? ''}
                onOpen={() => open(s)}
                claimButton={claimButton(s)}
              />
            ))}
          </ul>
        ) : (
        <table className="w-full text-sm" data-testid="study-table" data-compact={compact ? '1' : '0'}>
          <thead className="sticky top-0 bg-slate-50 text-slate-600">
            <tr>
              {!compact && <th className="w-14 px-2 py-2" />}
              <Header k="priority" label={t('worklist.col.priority')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.status')}</th>
              <Header k="patient_name" label={t('worklist.col.name')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.id')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.sexAge')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.accession')}</th>
              <Header k="study_date" label={t('worklist.col.date')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.modality')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.bodyPart')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.description')}</th>
              <th className="px-2 py-2 text-right font-medium">{t('worklist.col.images')}</th>
              <Header k="received_at" label={t('worklist.col.received')} />
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.lock')}</th>
              <th className="px-2 py-2 text-left font-medium">{t('worklist.col.assigned')}</th>
              <th className="px-2 py-2" />
            </tr>
          </thead>
          <tbody>
            {data?.items.map((s) => (
                <tr
                  key={s.study_instance_uid}
                  data-testid="study-row"
                  data-study-uid={s.study_instance_uid}
                  data-status={s.read_status}
                  tabIndex={0}
                  onClick={() => setSelected(s.study_instance_uid)}
                  onDoubleClick={() => open(s)}
                  onKeyDown={(e) => e.key === 'Enter' && open(s)}
                  className={`cursor-default border-t border-slate-100 ${selected === s.study_instance_uid ? 'bg-sky-100' : 'hover:bg-slate-50'}`}
                >
                  {!compact && (
                    <td className={cell}>
                      <StudyThumbnail studyUid={s.study_instance_uid} />
                    </td>
                  )}
                  <td className={cell}>
                    <span className={`rounded px-1.5 py-0.5 text-xs ${PRIORITY_STYLE[s.priority] ?? ''}`}>{t(`orders.priority.${s.priority}`)}</span>
                  </td>
                  <td className={cell}>
                    <span data-testid="read-status" className={`rounded px-1.5 py-0.5 text-xs whitespace-nowrap ${STATUS_STYLE[s.read_status] ?? ''}`}>
                      {t(`worklist.status.${s.read_status}`)}
                    </span>
                  </td>
                  <td className={`${cell} font-medium`} data-testid="patient-name">
                    {displayName(order, { pn: s.patient_name })}
                  </td>
                  <td className={cell}>{s.patient_id}</td>
                  <td className={`${cell} whitespace-nowrap`} data-testid="sex-age">
                    {[sexLabel(t, s.sex), ageLabel(t, s.age)].filter(Boolean).join(' / ')}
                  </td>
                  <td className={cell}>{s.accession_number}</td>
                  <td className={`${cell} whitespace-nowrap`}>{displayDate(s.study_date)}</td>
                  <td className={cell}>{s.modalities.join(', ')}</td>
                  <td className={cell}>{s.body_part}</td>
                  <td className={`${cell} max-w-64 truncate`} title={s.description ?? ''}>
                    {s.description}
                  </td>
                  <td className={`${cell} text-right tabular-nums`}>{s.number_of_instances}</td>
                  <td className={`${cell} whitespace-nowrap text-slate-500`}>{s.received_at ? new Date(s.received_at).toLocaleString() : ''}</td>
                  <td className={cell}>
                    <ClaimCell item={s} meId={meId} />
                  </td>
                  <td className={cell}>
                    {canAssign ? (
                      <select
                        data-testid="assign-select"
                        aria-label={t('worklist.assign')}
                        value={s.assigned_to?.id ?? ''}
                        onClick={(e) => e.stopPropagation()}
                        onChange={(e) => void run(actions.assign.mutateAsync({ uid: s.study_instance_uid, userId: e.target.value || null }))}
                        className="rounded border border-slate-300 px-1 py-0.5 text-xs"
                      >
                        <option value="">{t('worklist.unassigned')}</option>
                        {s.assigned_to && s.assigned_to.id !== meId && !assignees.data?.some((u) => u.id === s.assigned_to?.id) && (
                          <option value={s.assigned_to.id}>{s.assigned_to.name}</option>
                        )}
                        {meId && <option value={meId}>{t('worklist.me')}</option>}
                        {assignees.data
                          ?.filter((u) => u.id !== meId)
                          .map((u) => (
                            <option key={u.id} value={u.id} translate="no">
                              {u.display_name || u.username}
                            </option>
                          ))}
                      </select>
                    ) : (
                      <span className="text-xs">{s.assigned_to?.name ?? ''}</span>
                    )}
                  </td>
                  <td className={`${cell} whitespace-nowrap`}>{claimButton(s)}</td>
                </tr>
            ))}
          </tbody>
        </table>
        )}
        {data && data.items.length === 0 && (
          <p className="p-8 text-center text-slate-500" data-testid="no-studies">
            {t('worklist.empty')}
          </p>
        )}
      </div>

      <Pager
        total={total}
        offset={filters.offset}
        limit={filters.limit}
        busy={isFetching}
        totalTestId="study-total"
        onOffset={(offset) => setFilters({ ...filters, offset })}
        onLimit={(limit) => update({ limit })}
      />
    </div>
  );
}
