'use client';

import { PatientList } from '@/components/patients/PatientList';
import { AppShell } from '@/components/shell/AppShell';

export default function PatientsPage() {
  return (
    <AppShell permission="patient:read">
      <PatientList />
    </AppShell>
  );
}
