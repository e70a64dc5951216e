'use client';

import dynamic from 'next/dynamic';
import { useSearchParams } from 'next/navigation';
import { Suspense } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { useT } from '@/lib/i18n';

// Cornerstone touches WebGL, workers and WASM: browser only.
const Viewer = dynamic(() => import('@/components/viewer/Viewer'), { ssr: false });

function ViewerForQuery() {
  const t = useT();
  const study = useSearchParams().get('study');
  if (!study) return <p className="p-8 text-neutral-400">{t('viewer.noStudy')}</p>;
  return <Viewer studyUid={study} />;
}

export default function ViewerPage() {
  return (
    <AppShell permission="image:read" dark>
      <Suspense>
        <ViewerForQuery />
      </Suspense>
    </AppShell>
  );
}
