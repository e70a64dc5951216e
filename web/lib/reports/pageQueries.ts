/** Data for the report pages: history, print view, critical-result inbox and peer review. */
import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { components } from '@/lib/api/schema';
import type { Locale, TFunction } from '@/lib/i18n';
import type { RadpeerScore, Significance } from './peerReview';

type Schemas = components['schemas'];
export type CriticalItem = Schemas['CriticalRead'];
export type CriticalPage = Schemas['CriticalPage'];
export type PrintFacts = Schemas['PrintFacts'];
export type ReportVersion = Schemas['VersionRead'];

const enc = encodeURIComponent;

/** A server error in the user's words: known codes from the catalogue, else the server's message. */
export function errorText(t: TFunction, err: unknown): string {
  const info = describeError(err);
  const known = errorMessage(t, info);
  return known.includes(info.code) && info.message ? info.message : known;
}

/** The PDF as a blob (the bearer token cannot go in a link), labelled in the UI's language. */
export async function fetchPdfIn(id: string, locale: Locale): Promise<Blob> {
  return (await api.get<Blob>(`/api/reports/${enc(id)}/pdf`, { responseType: 'blob', headers: { 'Accept-Language': locale } })).data;
}

// -- print view -----------------------------------------------------------------------------

export function usePrintFacts(id: string, locale: Locale) {
  return useQuery({
    queryKey: ['report', id, 'print', locale],
    queryFn: async () =>
      (await api.get<PrintFacts>(`/api/reports/${enc(id)}/print`, { headers: { 'Accept-Language': locale } })).data,
  });
}

// -- critical results -----------------------------------------------------------------------

export function useCriticalResults(open: boolean, offset: number, limit: number) {
  return useQuery({
    queryKey: ['critical', open, offset, limit],
    queryFn: async () =>
      (await api.get<CriticalPage>('/api/critical-results', { params: { open, offset, limit } })).data,
    placeholderData: keepPreviousData,
  });
}

/** How many are open and closed: the nav badge (polled each minute) and the inbox summary. */
export function useCriticalCounts() {
  return useQuery({
    queryKey: ['critical', 'counts'],
    queryFn: async () => (await api.get<Schemas['CriticalCounts']>('/api/critical-results/counts')).data,
    refetchInterval: 60_000,
  });
}

export function useAcknowledge() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => (await api.post<CriticalItem>(`/api/critical-results/${enc(id)}/acknowledge`)).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['critical'] }),
  });
}

// -- peer review (RADPEER) ------------------------------------------------------------------

export type ReviewStatus = 'pending' | 'done';

export type PeerReviewItem = Schemas['PeerReviewItem'];
export type PeerReviewDetail = Schemas['PeerReviewDetail'];
export type PersonRef = Schemas['PersonRef'];
export type PeerReviewResults = Schemas['PeerReviewResults'];

export function usePeerReviews(status: ReviewStatus, offset: number, limit: number) {
  return useQuery({
    queryKey: ['peer-reviews', status, offset, limit],
    queryFn: async () =>
      (await api.get<Schemas['PeerReviewQueue']>('/api/peer-reviews', { params: { status, offset, limit } })).data,
    placeholderData: keepPreviousData,
  });
}

export function usePeerReview(id: string | null) {
  return useQuery({
    queryKey: ['peer-review', id],
    enabled: !!id,
    queryFn: async () => (await api.get<PeerReviewDetail>(`/api/peer-reviews/${enc(id ?? '')}`)).data,
  });
}

export function useScoreReview() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: { score: RadpeerScore; significance: Significance | null; comment: string } }) =>
      (await api.post<PeerReviewItem>(`/api/peer-reviews/${enc(id)}/score`, body)).data,
    onSuccess: (item) => {
      void client.invalidateQueries({ queryKey: ['peer-reviews'] });
      void client.invalidateQueries({ queryKey: ['peer-review', item.id] });
    },
  });
}

export function usePeerResults(offset: number, limit: number, enabled: boolean) {
  return useQuery({
    queryKey: ['peer-reviews', 'results', offset, limit],
    enabled,
    queryFn: async () => (await api.get<PeerReviewResults>('/api/peer-reviews/results', { params: { offset, limit } })).data,
    placeholderData: keepPreviousData,
  });
}
