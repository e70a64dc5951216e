'use client';

import { useQueries } from '@tanstack/react-query';
import { useState } from 'react';
import { shownLabel } from '@/lib/ai/applicable';
import { useStudyRuns } from '@/lib/ai/queries';
import { findingSentence, insertableFindings, placeIn, type FindingPlace } from '@/lib/ai/reportText';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useLocale, useT } from '@/lib/i18n';
import { fetchSeriesMetadata } from '@/lib/viewer/metadata';

/**
 * "插入 AI 结果 / Insert AI findings": the study's AI findings a doctor accepted or edited,
 * each as the sentence a radiologist would write, inserted like a phrase. Unreviewed and
 * rejected findings are never offered; a line says how many still wait for review.
 */
export function AiFindingsPicker({ studyUid, onPick }: { studyUid: string; onPick: (text: string) => void }) {
  const t = useT();
  const locale = useLocale((s) => s.locale);
  const me = useSession((s) => s.me);
  const canRead = hasPermission(me, 'ai:read');
  const [open, setOpen] = useState(false);
  const { data: runs, refetch, isFetching } = useStudyRuns(studyUid, locale, canRead);
  const { offered, unreviewed } = insertableFindings(runs ?? []);
  // Series and image numbers from the series' metadata (the viewer has usually fetched it).
  const seriesUids = [...new Set(offered.map((x) => x.seriesInstanceUid).filter((u): u is string => !!u))];
  const metadata = useQueries({
    queries: seriesUids.map((uid) => ({
      queryKey: ['series-metadata', studyUid, uid],
      queryFn: () => fetchSeriesMetadata(studyUid, uid),
      enabled: open,
      staleTime: Infinity,
    })),
  });
  const placeOf = (seriesUid: string | null, f: (typeof offered)[number]['finding']): FindingPlace | null => {
    const i = seriesUid ? seriesUids.indexOf(seriesUid) : -1;
    const instances = i >= 0 ? metadata[i]?.data : undefined;
    return instances ? placeIn(instances, f) : null;
  };
  const placesReady = metadata.every((q) => !q.isPending || q.isError);
  const measureName = (key: string) => {
    const k = `ai.measure.${key}`;
    const label = t(k);
    return label === k ? key : label;
  };
  if (!canRead) return null;
  // The list spans the editor's width: the nearest positioned ancestor is the editor's toolbar row.
  return (
    <div>
      <button
        type="button"
        className="text-[11px] text-sky-400 hover:underline"
        // Keep the focus (and the caret) in the findings while the list opens.
        onMouseDown={(e) => e.preventDefault()}
        onClick={() => {
          // A review made in the AI panel since the list was read shows at once.
          if (!open) void refetch();
          setOpen((o) => !o);
        }}
        aria-expanded={open}
        data-testid="report-ai"
        data-count={offered.length}
        title={t('reports.ai.hint')}
      >
        {t('reports.ai.button')}
      </button>
      {open && (
        <div
          className="absolute inset-x-0 top-full z-20 mt-1 rounded border border-neutral-700 bg-neutral-900 p-1.5 shadow-lg"
          data-testid="report-ai-list"
          data-ready={!isFetching && placesReady ? '1' : '0'}
        >
          <ul className="max-h-60 overflow-auto">
            {offered.map((x) => {
              const text = findingSentence(x, locale, measureName, placeOf(x.seriesInstanceUid, x.finding));
              return (
                <li key={x.finding.id}>
                  <button
                    type="button"
                    className="w-full rounded px-1 py-0.5 text-left text-[11px] text-neutral-200 hover:bg-neutral-800"
                    onMouseDown={(e) => e.preventDefault()}
                    onClick={() => {
                      onPick(text);
                      setOpen(false);
                    }}
                    data-testid="report-ai-item"
                    data-finding-id={x.finding.id}
                    data-status={x.finding.status}
                    data-text={text}
                    title={shownLabel(x.finding)}
                  >
                    <span className="line-clamp-3">{text}</span>
                  </button>
                </li>
              );
            })}
          </ul>
          {offered.length === 0 && <p className="px-1 text-[11px] text-neutral-500">{t('reports.ai.empty')}</p>}
          {unreviewed > 0 && (
            <p className="mt-1 px-1 text-[11px] text-amber-400" data-testid="report-ai-unreviewed" data-count={unreviewed}>
              {t('reports.ai.unreviewed', { n: unreviewed })}
            </p>
          )}
        </div>
      )}
    </div>
  );
}
