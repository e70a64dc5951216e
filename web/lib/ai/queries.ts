import { useMutation, useQueries, useQuery, useQueryClient } from '@tanstack/react-query';
import { useMemo } from 'react';
import { api } from '@/lib/api/client';
import { runDone } from './applicable';
import type { AiFinding, AiFindingMask, AiMetrics, AiModel, AiModelUpdate, AiReview, AiRun } from './types';

export type FindingMask = AiFindingMask;

const MODELS = ['ai-models'] as const;
const enc = encodeURIComponent;

/** GET /api/ai/models (ai:read): every model with its versions. */
export function useAiModels(enabled = true) {
  return useQuery({
    queryKey: MODELS,
    enabled,
    queryFn: async () => (await api.get<AiModel[]>('/api/ai/models')).data,
    staleTime: 10_000,
  });
}

export interface RunTarget {
  model: string;
  study_instance_uid: string;
  series_instance_uid?: string | null;
  sop_instance_uid?: string | null;
}

/** POST /api/ai/diagnose (ai:run): queues a run; its id. */
export async function startRun(target: RunTarget): Promise<string> {
  return (await api.post<{ run_id: string }>('/api/ai/diagnose', target)).data.run_id;
}

/** A run, polled every second until it succeeded or failed (reasons in the UI's language). */
export function useRun(id: string | null, locale: string) {
  return useQuery({
    queryKey: ['ai-run', id, locale],
    enabled: !!id,
    queryFn: async () =>
      (await api.get<AiRun>(`/api/ai/runs/${enc(id ?? '')}`, { headers: { 'Accept-Language': locale } })).data,
    refetchInterval: (q) => (runDone(q.state.data) ? false : 1000),
    staleTime: 0,
  });
}

/** GET /api/ai/runs?study_instance_uid= (ai:read): the study's runs, newest first. */
export function useStudyRuns(studyUid: string, locale: string, enabled = true) {
  return useQuery({
    queryKey: ['ai-study-runs', studyUid, locale],
    enabled,
    queryFn: async () =>
      (
        await api.get<AiRun[]>('/api/ai/runs', {
          params: { study_instance_uid: studyUid },
          headers: { 'Accept-Language': locale },
        })
      ).data,
    staleTime: 0,
  });
}

/** POST /api/ai/findings/{id}/review (ai:review); the run's cache takes the new finding, the study's runs are read again. */
export function useReview(runId: string | null) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: AiReview }) =>
      (await api.post<AiFinding>(`/api/ai/findings/${enc(id)}/review`, body)).data,
    onSuccess: (finding) => {
      client.setQueriesData<AiRun>({ queryKey: ['ai-run', runId] }, (run) =>
        run ? { ...run, findings: run.findings.map((f) => (f.id === finding.id ? finding : f)) } : run,
      );
      // The report editor's "insert AI findings" list reads the study's runs.
      void client.invalidateQueries({ queryKey: ['ai-study-runs'] });
    },
  });
}

/**
 * GET /api/ai/findings/{id}/mask (ai:read) of each segmentation finding: its pixels per
 * source image, from the run's DICOM SEG (read once; a SEG never changes). A finding whose
 * mask cannot be read is left out (its outline is still drawn).
 */
export function useFindingMasks(ids: string[]): Map<string, FindingMask> {
  const results = useQueries({
    queries: ids.map((id) => ({
      queryKey: ['ai-finding-mask', id],
      queryFn: async () => (await api.get<FindingMask>(`/api/ai/findings/${enc(id)}/mask`)).data,
      staleTime: Infinity,
      retry: false,
    })),
  });
  const key = results.map((r, i) => `${ids[i]}:${r.dataUpdatedAt}`).join(' ');
  // A new map only when a mask arrived: the overlay redraws on a new one.
  // eslint-disable-next-line react-hooks/exhaustive-deps
  return useMemo(() => new Map(results.flatMap((r, i) => (r.data ? [[ids[i], r.data] as const] : []))), [key]);
}

/** PATCH /api/ai/models/{id} (ai:manage): enable, disable, roll back, auto-run. */
export function useUpdateModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string; body: AiModelUpdate }) =>
      (await api.patch<AiModel>(`/api/ai/models/${enc(id)}`, body)).data,
    onSuccess: () => client.invalidateQueries({ queryKey: MODELS }),
  });
}

/** POST /api/ai/models (ai:manage): a manifest and, for ONNX models, the file. */
export function useUploadModel() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ manifest, file }: { manifest: string; file: File | null }) => {
      const form = new FormData();
      form.append('manifest', manifest);
      if (file) form.append('file', file);
      return (await api.post<AiModel>('/api/ai/models', form)).data;
    },
    onSuccess: () => client.invalidateQueries({ queryKey: MODELS }),
  });
}

/** GET /api/ai/metrics (ai:manage): per version over 30 days. */
export function useAiMetrics() {
  return useQuery({
    queryKey: ['ai-metrics'],
    queryFn: async () => (await api.get<AiMetrics>('/api/ai/metrics')).data,
    staleTime: 0,
    refetchInterval: 30_000,
  });
}
