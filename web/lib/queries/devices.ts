import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { ApiErrorBody } from '@/lib/api/errors';
import type { Page } from '@/lib/api/types';
import type { Device, DeviceCreate, DeviceUpdate, DimseJob, EchoResult } from '@/lib/devices/form';
import { jobDone } from '@/lib/devices/form';

const KEY = ['devices'] as const;

/** GET /api/devices (device:read): the registry, ordered by AE title. */
export function useDevices(enabled = true) {
  return useQuery({
    queryKey: KEY,
    enabled,
    queryFn: async () => (await api.get<Page<Device>>('/api/devices', { params: { limit: 500 } })).data,
    staleTime: 0,
  });
}

export function useSaveDevice() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ id, body }: { id: string | null; body: DeviceCreate | DeviceUpdate }) =>
      id
        ? (await api.patch<Device>(`/api/devices/${encodeURIComponent(id)}`, body)).data
        : (await api.post<Device>('/api/devices', body)).data,
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}

export function useDeleteDevice() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string) => {
      await api.delete(`/api/devices/${encodeURIComponent(id)}`);
    },
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}

export async function echoDevice(id: string): Promise<EchoResult> {
  return (await api.post<EchoResult>(`/api/devices/${encodeURIComponent(id)}/echo`)).data;
}

/** POST /api/studies/{uid}/send (image:send): queues a C-STORE job. */
export async function sendStudy(studyUid: string, deviceId: string): Promise<DimseJob> {
  return (
    await api.post<DimseJob>(`/api/studies/${encodeURIComponent(studyUid)}/send`, {
      device_id: deviceId,
    })
  ).data;
}

/** A send/retrieve job, polled every second until it is completed, partial or failed. */
export function useJob(id: string | null) {
  return useQuery({
    queryKey: ['dimse-job', id],
    enabled: !!id,
    queryFn: async () => (await api.get<DimseJob>(`/api/dimse/jobs/${encodeURIComponent(id ?? '')}`)).data,
    refetchInterval: (q) => (jobDone(q.state.data) ? false : 1000),
    staleTime: 0,
  });
}

/** `details` of the API's error body, if the error has one. */
export function errorDetails(error: unknown): unknown {
  const data = (error as { response?: { data?: Partial<ApiErrorBody> } } | null)?.response?.data;
  return data?.error?.details ?? null;
}

export type RemoteMatch = Record<string, string>;

/** POST /api/devices/{id}/query (image:read): a STUDY-level C-FIND on the remote node. */
export async function queryDevice(
  id: string,
  filters: Record<string, string>,
  returnKeys: string[],
  locale: string,
): Promise<{ items: RemoteMatch[]; status: number }> {
  return (
    await api.post<{ items: RemoteMatch[]; status: number }>(
      `/api/devices/${encodeURIComponent(id)}/query`,
      { level: 'STUDY', model: 'study', filters, return_keys: returnKeys },
      { headers: { 'Accept-Language': locale } },
    )
  ).data;
}

/** POST /api/devices/{id}/retrieve (image:create): queues a C-MOVE of a study to us (202). */
export async function retrieveStudy(id: string, studyUid: string, locale: string): Promise<DimseJob> {
  return (
    await api.post<DimseJob>(
      `/api/devices/${encodeURIComponent(id)}/retrieve`,
      { study_instance_uid: studyUid },
      { headers: { 'Accept-Language': locale } },
    )
  ).data;
}
