'use client';

import Link from 'next/link';
import { useT } from '@/lib/i18n';

/** The export's 404.html: in the user's language, never Next's English default. */
export default function NotFound() {
  const t = useT();
  return (
    <div className="flex min-h-screen flex-col items-center justify-center gap-4 bg-slate-100" data-testid="not-found">
      <h1 className="text-2xl font-semibold text-slate-800">{t('errors.pageNotFound')}</h1>
      <p className="text-slate-600">{t('errors.pageNotFoundHint')}</p>
      <Link href="/studies/" className="rounded bg-sky-700 px-3 py-1.5 text-white hover:bg-sky-800">
        {t('errors.backToWorklist')}
      </Link>
    </div>
  );
}
