'use client';

import { ReportIdPage } from '@/components/reports/ReportIdPage';
import { ReportPrint } from '@/components/reports/ReportPrint';

export default function ReportPrintPage() {
  return <ReportIdPage render={(id) => <ReportPrint reportId={id} />} />;
}
