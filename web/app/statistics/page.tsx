'use client';

import dynamic from 'next/dynamic';
import { AppShell } from '@/components/shell/AppShell';

// echarts only on this page, in its own chunk.
const Dashboard = dynamic(() => import('@/components/statistics/Dashboard').then((m) => m.Dashboard), { ssr: false });

export default function StatisticsPage() {
  return (
    <AppShell permission="statistics:read">
      <Dashboard />
    </AppShell>
  );
}
