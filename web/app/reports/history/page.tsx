'use client';

import { ReportHistory } from '@/components/reports/ReportHistory';
import { ReportIdPage } from '@/components/reports/ReportIdPage';

export default function ReportHistoryPage() {
  return <ReportIdPage render={(id) => <ReportHistory reportId={id} />} />;
}
