'use client';

import { Suspense } from 'react';
import { CriticalInbox } from '@/components/reports/CriticalInbox';
import { AppShell } from '@/components/shell/AppShell';

export default function CriticalPage() {
  return (
    <AppShell permission="report:read">
      <Suspense>
        <CriticalInbox />
      </Suspense>
    </AppShell>
  );
}
