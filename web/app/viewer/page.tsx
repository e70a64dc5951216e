'use client';

import dynamic from 'next/dynamic';
import { useSearchParams } from 'next/navigation';
import { Suspense, useEffect } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { ensureSession } from '@/components/shell/useSessionGate';
import { useT } from '@/lib/i18n';
import { prefetchStudy } from '@/lib/queries/studies';
import { fetchSeriesMetadata } from '@/lib/viewer/metadata';

// Cornerstone touches WebGL, workers and WASM: browser only.
const loadViewer = () => import('@/components/viewer/Viewer');
const Viewer = dynamic(loadViewer, { ssr: false });

/**
 * First image fast: as soon as the session is back, the study and its first series' metadata
 * are requested, and only then is the viewer's large chunk loaded and evaluated (which keeps
 * the main thread busy for a while): the requests run during that time.
 */
function prefetch(study: string): void {
  void prefetchStudy(study).then((detail) => {
    const first = detail.series[0];
    if (first) void fetchSeriesMetadata(study, first.series_instance_uid).catch(() => undefined);
  }, () => undefined);
}

if (typeof window !== 'undefined') {
  const study = new URLSearchParams(window.location.search).get('study');
  void ensureSession()
    .then((ok) => ok && study && prefetch(study))
    .finally(() => void loadViewer());
}

function ViewerForQuery() {
  const t = useT();
  const study = useSearchParams().get('study');
  // Client-side navigation (from the worklist) skips the page-load path above.
  useEffect(() => {
    if (study) prefetch(study);
  }, [study]);
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
