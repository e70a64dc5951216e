'use client';

import { useQueryClient } from '@tanstack/react-query';
import dynamic from 'next/dynamic';
import { useSearchParams } from 'next/navigation';
import { Suspense, useEffect } from 'react';
import { AppShell } from '@/components/shell/AppShell';
import { useSession } from '@/lib/auth/store';
import { useT } from '@/lib/i18n';
import { studyQuery } from '@/lib/queries/studies';
import { fetchSeriesMetadata } from '@/lib/viewer/metadata';

// Cornerstone touches WebGL, workers and WASM: browser only.
const loadViewer = () => import('@/components/viewer/Viewer');
const Viewer = dynamic(loadViewer, { ssr: false });
// Start downloading the viewer at once, in parallel with restoring the session.
if (typeof window !== 'undefined') void loadViewer();

/**
 * First image fast: while the viewer's large chunk downloads and initialises, the study and
 * its first series' metadata are already being fetched.
 */
function usePrefetch(study: string | null) {
  const client = useQueryClient();
  const authenticated = useSession((s) => s.status === 'authenticated');
  useEffect(() => {
    if (!study || !authenticated) return;
    void client.fetchQuery(studyQuery(study)).then((detail) => {
      const first = detail.series[0];
      if (first) void fetchSeriesMetadata(study, first.series_instance_uid).catch(() => undefined);
    }, () => undefined);
  }, [client, study, authenticated]);
}

function ViewerForQuery() {
  const t = useT();
  const study = useSearchParams().get('study');
  usePrefetch(study);
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
