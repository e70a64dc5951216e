'use client';

import { useEffect } from 'react';

/**
 * Registers public/sw.js (production builds only: `next dev` serves changing files under the
 * same names). What it caches, and what never, is public/sw-rules.js.
 */
export function ServiceWorker() {
  useEffect(() => {
    if (process.env.NODE_ENV !== 'production' || !('serviceWorker' in navigator)) return;
    navigator.serviceWorker.register('/sw.js', { scope: '/' }).catch(() => {
      /* not offered (private mode, plain http off localhost): the app works without it */
    });
  }, []);
  return null;
}
