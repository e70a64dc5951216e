/**
 * Worklist filters and sort live in the URL (/studies/?status=unread&modality=CT&sort=-priority),
 * so they survive opening a study in the viewer and coming back, a reload, and a shared link.
 * Only non-default values are written.
 */
export interface WorklistFilters {
  status: string;
  priority: string;
  modality: string;
  body_part: string;
  date_from: string;
  date_to: string;
  department: string;
  source: string;
  assigned_to: string;
  accession: string;
  q: string;
  sort: string;
  limit: number;
  offset: number;
}

export const DEFAULT_WORKLIST: WorklistFilters = {
  status: '',
  priority: '',
  modality: '',
  body_part: '',
  date_from: '',
  date_to: '',
  department: '',
  source: '',
  assigned_to: '',
  accession: '',
  q: '',
  sort: 'priority',
  limit: 25,
  offset: 0,
};

const TEXT_KEYS = Object.keys(DEFAULT_WORKLIST).filter(
  (k) => typeof DEFAULT_WORKLIST[k as keyof WorklistFilters] === 'string',
) as (keyof WorklistFilters)[];
const SAFE_SORT = /^-?(priority|study_date|patient_name|received_at)$/;
const MAX_TEXT = 64;

export function filtersFromSearch(search: string): WorklistFilters {
  const params = new URLSearchParams(search);
  const f: WorklistFilters = { ...DEFAULT_WORKLIST };
  for (const key of TEXT_KEYS) {
    const value = params.get(key);
    if (value !== null) (f as unknown as Record<string, string>)[key] = value.slice(0, MAX_TEXT);
  }
  if (!SAFE_SORT.test(f.sort)) f.sort = DEFAULT_WORKLIST.sort;
  const limit = Number(params.get('limit'));
  if ([25, 50, 100].includes(limit)) f.limit = limit;
  const offset = Number(params.get('offset'));
  if (Number.isInteger(offset) && offset > 0) f.offset = offset;
  return f;
}

/** The query string (with its `?`, or '' when everything is default). */
export function searchOfFilters(f: WorklistFilters): string {
  const params = new URLSearchParams();
  for (const [key, value] of Object.entries(f)) {
    if (value !== DEFAULT_WORKLIST[key as keyof WorklistFilters]) params.set(key, String(value));
  }
  const s = params.toString();
  return s ? `?${s}` : '';
}

/** API query parameters: the non-empty filters. */
export function worklistParams(f: WorklistFilters): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(f)) if (v !== '') out[k] = v;
  return out;
}

/** Columns the worklist API sorts by; priority has one direction (STAT first). */
export const SORTABLE = ['priority', 'study_date', 'patient_name', 'received_at'] as const;
const ONE_WAY = new Set(['priority']);

/** Clicking a column: descending first, then ascending, then descending again. */
export function nextSort(current: string, key: string): string {
  if (ONE_WAY.has(key)) return key;
  return current === `-${key}` ? key : `-${key}`;
}

/** Seconds until a claim expires (never negative); null without a claim. */
export function claimSecondsLeft(expiresAt: string | null, now: number = Date.now()): number | null {
  if (!expiresAt) return null;
  const t = Date.parse(expiresAt);
  if (Number.isNaN(t)) return null;
  return Math.max(0, Math.round((t - now) / 1000));
}

const LAST_SEARCH_KEY = 'hf.worklist.search';

/** Keep the worklist's query string for this tab, so the viewer's back link returns to it. */
export function rememberWorklistSearch(search: string): void {
  try {
    window.sessionStorage.setItem(LAST_SEARCH_KEY, search);
  } catch {
    /* private mode: the link falls back to the unfiltered worklist */
  }
}

/** The worklist as this tab last showed it (filters and sort), or the plain worklist. */
export function lastWorklistHref(): string {
  try {
    const search = window.sessionStorage.getItem(LAST_SEARCH_KEY) ?? '';
    return `/studies/${searchOfFilters(filtersFromSearch(search))}`;
  } catch {
    return '/studies/';
  }
}
