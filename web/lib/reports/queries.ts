import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Page } from '@/lib/api/types';
import type {
  DraftContent,
  PhraseCreate,
  PhraseUpdate,
  Report,
  ReportPhrase,
  ReportTemplate,
  ReportVerify,
  ReportVersions,
} from './types';

const rid = (id: string) => encodeURIComponent(id);

/** GET /api/reports?study_instance_uid= (report:read): the study's reports, newest first. */
export function useStudyReports(studyUid: string, enabled: boolean) {
  return useQuery({
    queryKey: ['reports', 'study', studyUid],
    enabled,
    queryFn: async () =>
      (await api.get<Page<Report>>('/api/reports', { params: { study_instance_uid: studyUid } })).data,
    staleTime: 0,
  });
}

export function useReport(id: string | null) {
  return useQuery({
    queryKey: ['report', id],
    enabled: !!id,
    queryFn: async () => (await api.get<Report>(`/api/reports/${rid(id ?? '')}`)).data,
    staleTime: 0,
  });
}

export function useTemplates(modality: string | undefined, language: string) {
  return useQuery({
    queryKey: ['report-templates', modality ?? '', language],
    queryFn: async () =>
      (await api.get<ReportTemplate[]>('/api/report-templates', { params: { language } })).data,
    staleTime: 60_000,
  });
}

export function useVersions(id: string | null, from: number | null, to: number | null) {
  return useQuery({
    queryKey: ['report', id, 'versions', from, to],
    enabled: !!id,
    queryFn: async () =>
      (
        await api.get<ReportVersions>(`/api/reports/${rid(id ?? '')}/versions`, {
          params: from && to ? { diff_from: from, diff_to: to } : {},
        })
      ).data,
  });
}

export function useVerify(id: string | null, enabled: boolean) {
  return useQuery({
    queryKey: ['report', id, 'verify'],
    enabled: !!id && enabled,
    queryFn: async () => (await api.get<ReportVerify>(`/api/reports/${rid(id ?? '')}/verify`)).data,
  });
}

export async function createReport(studyUid: string, templateId: string | null): Promise<Report> {
  return (await api.post<Report>('/api/reports', { study_instance_uid: studyUid, template_id: templateId })).data;
}

/** PATCH a draft at the version it was read at (409 version_conflict if it moved). */
export async function saveDraft(id: string, version: number, changes: Partial<DraftContent>): Promise<Report> {
  return (await api.patch<Report>(`/api/reports/${rid(id)}`, { version, ...changes })).data;
}

export type Transition = 'submit' | 'approve' | 'amend' | 'cancel';

export function useTransition() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, action, body }: { id: string; action: Transition; body?: object }) =>
      (await api.post<Report>(`/api/reports/${rid(id)}/${action}`, body)).data,
    onSuccess: (report) => {
      client.setQueryData(['report', report.id], report);
      void client.invalidateQueries({ queryKey: ['reports'] });
      void client.invalidateQueries({ queryKey: ['report', report.id] });
    },
  });
}

/** The PDF as a blob (the bearer token cannot go in a link). */
export async function fetchPdf(id: string): Promise<Blob> {
  return (await api.get<Blob>(`/api/reports/${rid(id)}/pdf`, { responseType: 'blob' })).data;
}

export function downloadBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** A DICOM modality the phrase filter accepts (`CT`, not a list such as `CT\MR`): else every phrase. */
const MODALITY = /^[A-Z0-9_ ]{1,16}$/;

/** GET /api/report-phrases (report:read): the shared phrases and the user's own. */
export function usePhrases(modality?: string, enabled = true) {
  const m = modality && MODALITY.test(modality) ? modality : undefined;
  return useQuery({
    queryKey: ['report-phrases', m ?? ''],
    enabled,
    queryFn: async () => (await api.get<ReportPhrase[]>('/api/report-phrases', { params: m ? { modality: m } : {} })).data,
    staleTime: 60_000,
  });
}

export function useSavePhrase() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string | null; body: PhraseCreate | PhraseUpdate }) =>
      id
        ? (await api.patch<ReportPhrase>(`/api/report-phrases/${rid(id)}`, body)).data
        : (await api.post<ReportPhrase>('/api/report-phrases', body)).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['report-phrases'] }),
  });
}

export function useDeletePhrase() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await api.delete(`/api/report-phrases/${rid(id)}`);
    },
    onSuccess: () => void client.invalidateQueries({ queryKey: ['report-phrases'] }),
  });
}
