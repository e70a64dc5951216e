'use client';

import Link from 'next/link';
import { useT } from '@/lib/i18n';

export const historyHref = (id: string) => `/reports/history/?id=${encodeURIComponent(id)}`;
export const printHref = (id: string) => `/reports/print/?id=${encodeURIComponent(id)}`;

/** Links from a report to its version history and its print view (the page itself left out). */
export function ReportLinks({ reportId, except, className = 'text-sky-400' }: { reportId: string; except?: 'history' | 'print'; className?: string }) {
  const t = useT();
  const link = `rounded px-2 py-1 text-xs hover:underline ${className}`;
  return (
    <span className="inline-flex gap-1" data-testid="report-links">
      {except !== 'history' && (
        <Link href={historyHref(reportId)} className={link} data-testid="report-history-link">
          {t('reports.actions.history')}
        </Link>
      )}
      {except !== 'print' && (
        <Link href={printHref(reportId)} className={link} data-testid="report-print-link">
          {t('reports.actions.print')}
        </Link>
      )}
    </span>
  );
}
