import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Statistics, WorklistPage } from '@/lib/orders/types';
import { worklistParams, type WorklistFilters } from '@/lib/worklist/urlState';

/** GET /api/worklist: the reading list with counts per status. */
export function useWorklist(filters: WorklistFilters) {
  return useQuery({
    queryKey: ['worklist', filters],
    queryFn: async () =>
      (await api.get<WorklistPage>('/api/worklist', { params: worklistParams(filters) })).data,
    placeholderData: keepPreviousData,
    // A worklist must not show old news (nor a colleague's expired lock): every 30 s while open.
    staleTime: 0,
    refetchInterval: 30_000,
  });
}

const path = (uid: string) => `/api/worklist/${encodeURIComponent(uid)}`;

/** Claim, release and assign; each refreshes the list (the server has the last word on locks). */
export function useWorklistActions() {
  const client = useQueryClient();
  const settled = () => void client.invalidateQueries({ queryKey: ['worklist'] });
  const claim = useMutation({
    mutationFn: async (uid: string) => (await api.post(`${path(uid)}/claim`)).data,
    onSettled: settled,
  });
  const release = useMutation({
    mutationFn: async (uid: string) => (await api.delete(`${path(uid)}/claim`)).data,
    onSettled: settled,
  });
  const assign = useMutation({
    mutationFn: async ({ uid, userId }: { uid: string; userId: string | null }) =>
      (await api.post(`${path(uid)}/assign`, { user_id: userId })).data,
    onSettled: settled,
  });
  return { claim, release, assign };
}

/** GET /api/statistics for a date range. */
export function useStatistics(range: { date_from: string; date_to: string }) {
  return useQuery({
    queryKey: ['statistics', range],
    queryFn: async () =>
      (
        await api.get<Statistics>('/api/statistics', {
          params: Object.fromEntries(Object.entries(range).filter(([, v]) => v)),
        })
      ).data,
    placeholderData: keepPreviousData,
  });
}
