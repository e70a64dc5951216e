import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { api } from '@/lib/api/client';
import type { components } from '@/lib/api/schema';
import { parseSse, type SseEvent } from '@/lib/notifications/sse';

export type NotificationPage = components['schemas']['NotificationPage'];
export type NotificationItem = components['schemas']['NotificationRead'];

const KEY = ['notifications'] as const;

/** GET /api/notifications: the newest ten and the unread count (the bell). */
export function useNotifications() {
  return useQuery({
    queryKey: KEY,
    queryFn: async () =>
      (await api.get<NotificationPage>('/api/notifications', { params: { limit: 10 } })).data,
  });
}

export function useMarkRead() {
  const client = useQueryClient();
  return useMutation({
    mutationFn: async (id: string | null) =>
      id
        ? (await api.post(`/api/notifications/${encodeURIComponent(id)}/read`)).data
        : (await api.post('/api/notifications/read-all')).data,
    onSuccess: () => client.invalidateQueries({ queryKey: KEY }),
  });
}

/**
 * Follow GET /api/notifications/stream until `signal` aborts, calling `onEvent` for each
 * event. It goes through the API client (fetch adapter, streamed body) so the token travels
 * in the Authorization header like every other request. Resolves when the stream ends.
 */
export async function followNotifications(
  onEvent: (event: SseEvent) => void,
  signal: AbortSignal,
): Promise<void> {
  const response = await api.get<ReadableStream<Uint8Array>>('/api/notifications/stream', {
    adapter: 'fetch',
    responseType: 'stream',
    signal,
  });
  const reader = response.data.getReader();
  const decoder = new TextDecoder();
  let buffer = '';
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    const parsed = parseSse(buffer + decoder.decode(value, { stream: true }));
    buffer = parsed.rest;
    parsed.events.forEach(onEvent);
  }
}

export const NOTIFICATIONS_KEY = KEY;
