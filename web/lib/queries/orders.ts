import { keepPreviousData, useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { Page } from '@/lib/api/types';
import type { Order, OrderBody, OrderPatch, OrderStatus } from '@/lib/orders/types';

export interface OrderFilters {
  status: string;
  patient_id: string;
  modality: string;
  date_from: string;
  date_to: string;
  limit: number;
  offset: number;
}

export const DEFAULT_ORDER_FILTERS: OrderFilters = {
  status: '',
  patient_id: '',
  modality: '',
  date_from: '',
  date_to: '',
  limit: 25,
  offset: 0,
};

const nonEmpty = (o: object): Record<string, string | number> =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== '' && v !== null && v !== undefined));

/** GET /api/orders (order:read). */
export function useOrders(filters: OrderFilters, enabled = true) {
  return useQuery({
    queryKey: ['orders', filters],
    enabled,
    queryFn: async () => (await api.get<Page<Order>>('/api/orders', { params: nonEmpty(filters) })).data,
    placeholderData: keepPreviousData,
    staleTime: 0,
  });
}

export function useCreateOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (body: OrderBody) => (await api.post<Order>('/api/orders', body)).data,
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['orders'] });
      void client.invalidateQueries({ queryKey: ['patient'] });
    },
  });
}

/** PATCH /api/orders/{id}: 409 order_version_conflict when someone changed it since it was read. */
export function useUpdateOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ orderId, patch }: { orderId: number; patch: OrderPatch }) =>
      (await api.patch<Order>(`/api/orders/${encodeURIComponent(String(orderId))}`, patch)).data,
    onSuccess: () => {
      void client.invalidateQueries({ queryKey: ['orders'] });
      void client.invalidateQueries({ queryKey: ['patient'] });
      void client.invalidateQueries({ queryKey: ['worklist'] });
    },
  });
}

/** POST /api/orders/{id}/status: the server refuses an illegal transition with 409. */
export function useOrderStatus() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ orderId, status }: { orderId: number; status: OrderStatus }) =>
      (await api.post<Order>(`/api/orders/${encodeURIComponent(String(orderId))}/status`, { status })).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['orders'] }),
  });
}

export interface UnmatchedStudy {
  study_instance_uid: string;
  patient_name: string;
  patient_id: string;
  accession_number: string;
  study_date: string | null;
  modalities: string[];
}

/** Studies that arrived without a matching order (for the technician to match by hand). */
export function useUnmatchedStudies(enabled: boolean) {
  return useQuery({
    queryKey: ['orders', 'unmatched'],
    enabled,
    queryFn: async () => (await api.get<Page<UnmatchedStudy>>('/api/orders/unmatched-studies')).data,
    staleTime: 0,
  });
}

export function useMatchOrder() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async ({ orderId, studyUid }: { orderId: number; studyUid: string }) =>
      (
        await api.post<Order>(`/api/orders/${encodeURIComponent(String(orderId))}/match`, {
          study_instance_uid: studyUid,
        })
      ).data,
    onSuccess: () => void client.invalidateQueries({ queryKey: ['orders'] }),
  });
}
