'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { useQueryClient } from '@tanstack/react-query';
import { useT } from '@/lib/i18n';
import {
  NOTIFICATIONS_KEY,
  followNotifications,
  useMarkRead,
  useNotifications,
  type NotificationItem,
} from '@/lib/queries/notifications';

const RECONNECT_MS = 5000;

/** Keeps the list fresh: every event of the stream refetches it; a dropped stream reconnects. */
function useLiveNotifications() {
  const client = useQueryClient();
  useEffect(() => {
    const abort = new AbortController();
    let timer: ReturnType<typeof setTimeout> | undefined;
    const connect = () => {
      followNotifications(() => void client.invalidateQueries({ queryKey: NOTIFICATIONS_KEY }), abort.signal)
        .catch(() => undefined)
        .finally(() => {
          if (!abort.signal.aborted) timer = setTimeout(connect, RECONNECT_MS);
        });
    };
    connect();
    return () => {
      abort.abort();
      if (timer) clearTimeout(timer);
    };
  }, [client]);
}

/** The kind's wording in the UI language; a `variant` (an amended report, a failed AI run)
 * has its own key, and the server's title stands in for any kind or variant not known here. */
function title(t: ReturnType<typeof useT>, item: NotificationItem): string {
  const variant = item.params.variant;
  const key = `notifications.kinds.${item.kind}${variant ? `__${variant}` : ''}`;
  const text = t(key, item.params);
  return text === key ? item.title : text;
}

/** The header's bell: unread count, the newest notifications, mark read. */
export function Bell() {
  const t = useT();
  const [open, setOpen] = useState(false);
  const { data } = useNotifications();
  const markRead = useMarkRead();
  useLiveNotifications();
  const unread = data?.unread ?? 0;

  return (
    <div className="relative">
      <button
        type="button"
        data-testid="notifications-bell"
        aria-label={t('notifications.bell', { count: unread })}
        aria-expanded={open}
        onClick={() => setOpen(!open)}
        className="relative rounded px-2 py-1 hover:bg-white/10"
      >
        <svg aria-hidden viewBox="0 0 24 24" className="h-5 w-5" fill="none" stroke="currentColor" strokeWidth="1.8">
          <path d="M6 16V11a6 6 0 1 1 12 0v5l2 2H4l2-2Z" strokeLinejoin="round" />
          <path d="M10 20a2 2 0 0 0 4 0" strokeLinecap="round" />
        </svg>
        {unread > 0 && (
          <span
            data-testid="notifications-unread"
            className="absolute -right-1 -top-1 rounded-full bg-red-600 px-1 text-xs text-white"
          >
            {unread > 99 ? '99+' : unread}
          </span>
        )}
      </button>
      {open && (
        <div
          data-testid="notifications-panel"
          className="absolute right-0 z-50 mt-1 w-[min(20rem,calc(100vw-1rem))] rounded border border-slate-300 bg-white text-slate-900 shadow-lg"
        >
          <div className="flex items-center justify-between border-b px-3 py-2 text-sm font-semibold">
            <span>{t('notifications.title')}</span>
            <button
              type="button"
              data-testid="notifications-read-all"
              disabled={unread === 0}
              onClick={() => markRead.mutate(null)}
              className="text-xs font-normal text-sky-700 disabled:text-slate-400"
            >
              {t('notifications.readAll')}
            </button>
          </div>
          <ul className="max-h-96 overflow-y-auto text-sm">
            {(data?.items ?? []).length === 0 && (
              <li className="px-3 py-4 text-slate-500">{t('notifications.empty')}</li>
            )}
            {(data?.items ?? []).map((item) => (
              <li
                key={item.id}
                data-testid="notification"
                className={`border-b px-3 py-2 ${item.read_at ? 'text-slate-500' : 'font-medium'}`}
              >
                <div className="flex items-start justify-between gap-2">
                  {item.link ? (
                    <Link href={item.link} onClick={() => markRead.mutate(item.id)}>
                      {title(t, item)}
                    </Link>
                  ) : (
                    <span>{title(t, item)}</span>
                  )}
                  {!item.read_at && (
                    <button
                      type="button"
                      onClick={() => markRead.mutate(item.id)}
                      className="shrink-0 text-xs text-sky-700"
                    >
                      {t('notifications.markRead')}
                    </button>
                  )}
                </div>
                {item.detail && <p className="mt-1 text-xs text-slate-600">{item.detail}</p>}
                <time className="text-xs text-slate-400" dateTime={item.created_at}>
                  {new Date(item.created_at).toLocaleString()}
                </time>
              </li>
            ))}
          </ul>
        </div>
      )}
    </div>
  );
}
