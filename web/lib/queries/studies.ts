import { keepPreviousData, useQuery } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Page, StudyDetail, StudySummary } from '@/lib/api/types';

export interface StudyFilters {
  q: string;
  accession_number: string;
  modality: string;
  study_date_from: string;
  study_date_to: string;
  sort: string;
  limit: number;
  offset: number;
}

export const DEFAULT_FILTERS: StudyFilters = {
  q: '',
  accession_number: '',
  modality: '',
  study_date_from: '',
  study_date_to: '',
  sort: '-study_date',
  limit: 25,
  offset: 0,
};

/** Query parameters without the empty ones. */
export function studyParams(f: StudyFilters): Record<string, string | number> {
  const out: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(f)) {
    if (v !== '' && v !== null && v !== undefined) out[k] = v as string | number;
  }
  return out;
}

export function useStudies(filters: StudyFilters) {
  return useQuery({
    queryKey: ['studies', filters],
    queryFn: async () =>
      (await api.get<Page<StudySummary>>('/api/studies', { params: studyParams(filters) })).data,
    placeholderData: keepPreviousData,
    // A worklist must not show old news: refetch on every visit, and every 30 s while open.
    staleTime: 0,
    refetchInterval: 30_000,
  });
}

const early = new Map<string, Promise<StudyDetail>>();

function getStudy(uid: string): Promise<StudyDetail> {
  return api.get<StudyDetail>(`/api/studies/${encodeURIComponent(uid)}`).then((r) => r.data);
}

/** Start fetching a study before React renders (the viewer page does, at load); used once. */
export function prefetchStudy(uid: string): Promise<StudyDetail> {
  let p = early.get(uid);
  if (!p) {
    p = getStudy(uid);
    p.catch(() => early.delete(uid));
    early.set(uid, p);
  }
  return p;
}

export function studyQuery(uid: string | null) {
  return {
    queryKey: ['study', uid],
    enabled: !!uid,
    queryFn: () => {
      const id = uid ?? '';
      const p = early.get(id);
      early.delete(id);
      return p ?? getStudy(id);
    },
  };
}

export function useStudy(uid: string | null) {
  return useQuery(studyQuery(uid));
}

/** DELETE /api/studies/{uid} (image:delete); the server's refusal in `locale`. */
export async function deleteStudy(uid: string, locale: string): Promise<void> {
  await api.delete(`/api/studies/${encodeURIComponent(uid)}`, { headers: { 'Accept-Language': locale } });
}

/** DELETE /api/studies/{uid}/series/{series} (image:delete); the study goes too with its last series. */
export async function deleteSeries(uid: string, seriesUid: string, locale: string): Promise<void> {
  await api.delete(`/api/studies/${encodeURIComponent(uid)}/series/${encodeURIComponent(seriesUid)}`, {
    headers: { 'Accept-Language': locale },
  });
}

/** A blob error body (export) read back as the API's JSON error, so describeError can name it. */
async function jsonErrorOf(err: unknown): Promise<unknown> {
  const response = (err as { response?: { data?: unknown } } | null)?.response;
  if (response && response.data instanceof Blob) {
    try {
      response.data = JSON.parse(await response.data.text());
    } catch {
      // not JSON: left as it was
    }
  }
  return err;
}

/** GET /api/studies/{uid}/export (image:export): the zip, saved under `fileName`. */
export async function downloadStudyZip(
  uid: string,
  params: Record<string, string>,
  fileName: string,
  locale: string,
): Promise<void> {
  let data: Blob;
  try {
    data = (
      await api.get<Blob>(`/api/studies/${encodeURIComponent(uid)}/export`, {
        params,
        responseType: 'blob',
        headers: { 'Accept-Language': locale },
      })
    ).data;
  } catch (err) {
    throw await jsonErrorOf(err);
  }
  const url = URL.createObjectURL(data);
  const a = document.createElement('a');
  a.href = url;
  a.download = fileName;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10000);
}
