'use client';

import { useSearchParams } from 'next/navigation';
import { Suspense, type ReactNode } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { useT } from '@/lib/i18n';

// A static export has no dynamic segments: the report is ?id=.
function ForQuery({ render }: { render: (id: string) => ReactNode }) {
  const t = useT();
  const id = useSearchParams().get('id');
  if (!id) return <p className="p-8 text-slate-500">{t('reports.notFound')}</p>;
  return render(id);
}

/** A page about one report (`?id=`), for users with report:read. */
export function ReportIdPage({ render }: { render: (id: string) => ReactNode }) {
  return (
    <AppShell permission="report:read">
      <Suspense>
        <ForQuery render={render} />
      </Suspense>
    </AppShell>
  );
}
