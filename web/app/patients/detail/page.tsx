'use client';

import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { PatientDetail } from '@/components/patients/PatientDetail';
import { AppShell } from '@/components/shell/AppShell';
import { useT } from '@/lib/i18n';

// A static export has no dynamic segments: the patient is ?id=.
function DetailForQuery() {
  const t = useT();
  const id = useSearchParams().get('id');
  if (!id) return <p className="p-8 text-slate-500">{t('patients.errors.patient_not_found')}</p>;
  return <PatientDetail patientId={id} />;
}

export default function PatientDetailPage() {
  return (
    <AppShell permission="patient:read">
      <Suspense>
        <DetailForQuery />
      </Suspense>
    </AppShell>
  );
}
