'use client';

import { Suspense } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { Worklist } from '@/components/worklist/Worklist';

/** The reading worklist; its filters live in the URL (useSearchParams needs the Suspense). */
export default function StudiesPage() {
  return (
    <AppShell permission="order:read">
      <Suspense>
        <Worklist />
      </Suspense>
    </AppShell>
  );
}
