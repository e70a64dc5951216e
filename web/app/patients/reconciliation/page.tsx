'use client';

import { Reconciliation } from '@/components/patients/Reconciliation';
import { AppShell } from '@/components/shell/AppShell';

export default function ReconciliationPage() {
  return (
    <AppShell permission="patient:write">
      <Reconciliation />
    </AppShell>
  );
}
