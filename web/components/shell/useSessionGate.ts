'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { restoreSession } from '@/lib/api/client';
import { useSession } from '@/lib/auth/store';

let restoring: Promise<boolean> | null = null;

/** The session, restored once per page load from the refresh cookie (shared by all callers). */
export function ensureSession(): Promise<boolean> {
  const status = useSession.getState().status;
  if (status !== 'unknown') return Promise.resolve(status === 'authenticated');
  restoring ??= restoreSession().finally(() => {
    restoring = null;
  });
  return restoring;
}

/** Restores the session from the refresh cookie once per page load; sends anonymous users to /login/. */
export function useSessionGate(redirect = true) {
  const status = useSession((s) => s.status);
  const router = useRouter();
  useEffect(() => {
    if (status === 'unknown') void ensureSession();
  }, [status]);
  useEffect(() => {
    if (redirect && status === 'anonymous') {
      const next = window.location.pathname + window.location.search;
      router.replace(`/login/?next=${encodeURIComponent(next)}`);
    }
  }, [redirect, status, router]);
  return status;
}
