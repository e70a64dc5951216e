'use client';

import { useRouter } from 'next/navigation';
import { useEffect } from 'react';
import { restoreSession } from '@/lib/api/client';
import { useSession } from '@/lib/auth/store';

let restoring: Promise<boolean> | null = null;

/** Restores the session from the refresh cookie once per page load; sends anonymous users to /login/. */
export function useSessionGate(redirect = true) {
  const status = useSession((s) => s.status);
  const router = useRouter();
  useEffect(() => {
    if (status !== 'unknown') return;
    restoring ??= restoreSession().finally(() => {
      restoring = null;
    });
    void restoring;
  }, [status]);
  useEffect(() => {
    if (redirect && status === 'anonymous') {
      const next = window.location.pathname + window.location.search;
      router.replace(`/login/?next=${encodeURIComponent(next)}`);
    }
  }, [redirect, status, router]);
  return status;
}
