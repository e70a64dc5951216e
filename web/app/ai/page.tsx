'use client';

import dynamic from 'next/dynamic';
import { AppShell } from '@/components/shell/AppShell';

// echarts only on this page, in its own chunk.
const ModelManager = dynamic(() => import('@/components/ai/ModelManager').then((m) => m.ModelManager), { ssr: false });

export default function AiModelsPage() {
  return (
    <AppShell permission="ai:manage">
      <ModelManager />
    </AppShell>
  );
}
