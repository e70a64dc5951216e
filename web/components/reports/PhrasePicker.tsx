'use client';

import Link from 'next/link';
import { useMemo, useState } from 'react';
import { useT } from '@/lib/i18n';
import type { ReportPhrase } from '@/lib/reports/types';

/**
 * "常用语 / Phrases": a list of the user's and the shared phrases, filtered as they type;
 * choosing one inserts it where the cursor was in the section last written in.
 */
export function PhrasePicker({ phrases, onPick }: { phrases: readonly ReportPhrase[]; onPick: (text: string) => void }) {
  const t = useT();
  const [open, setOpen] = useState(false);
  const [query, setQuery] = useState('');
  const shown = useMemo(() => {
    const q = query.trim().toLowerCase();
    const matching = phrases.filter((p) => !q || p.shortcut.includes(q) || p.text.toLowerCase().includes(q));
    return [...matching].sort((a, b) => Number(a.shared) - Number(b.shared) || a.shortcut.localeCompare(b.shortcut));
  }, [phrases, query]);
  return (
    <div className="relative">
      <button
        type="button"
        className="text-[11px] text-sky-400 hover:underline"
        // Keep the focus (and the caret) in the section while the list opens.
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => setOpen((o) => !o)}
        aria-expanded={open}
        data-testid="report-phrases"
        data-count={phrases.length}
        title={t('reports.phrases.hint')}
      >
        {t('reports.phrases.button')}
      </button>
      {open && (
        <div className="absolute right-0 z-20 mt-1 w-72 rounded border border-neutral-700 bg-neutral-900 p-1.5 shadow-lg" data-testid="report-phrase-list">
          <input
            className="mb-1 w-full rounded bg-neutral-800 px-1.5 py-1 text-xs text-neutral-100"
            value={query}
            onChange={(e) => setQuery(e.target.value)}
            placeholder={t('reports.phrases.search')}
            aria-label={t('reports.phrases.search')}
            data-testid="report-phrase-search"
          />
          <ul className="max-h-60 overflow-auto">
            {shown.map((p) => (
              <li key={p.id}>
                <button
                  type="button"
                  className="w-full rounded px-1 py-0.5 text-left text-[11px] text-neutral-200 hover:bg-neutral-800"
                  onMouseDown={(e) => e.preventDefault()}
                  onClick={() => {
                    onPick(p.text);
                    setOpen(false);
                  }}
                  data-testid="report-phrase-item"
                  data-shortcut={p.shortcut}
                >
                  <span className="mr-1 font-mono text-sky-300" translate="no">
                    ;{p.shortcut}
                  </span>
                  {!p.shared && <span className="mr-1 text-amber-300">{t('reports.phrases.mine')}</span>}
                  <span className="line-clamp-2">{p.text}</span>
                </button>
              </li>
            ))}
          </ul>
          {shown.length === 0 && <p className="px-1 text-[11px] text-neutral-500">{t('reports.phrases.empty')}</p>}
          <Link href="/reports/phrases/" className="mt-1 block px-1 text-[11px] text-sky-400 hover:underline" data-testid="report-phrases-manage">
            {t('reports.phrases.manage')}
          </Link>
        </div>
      )}
    </div>
  );
}
