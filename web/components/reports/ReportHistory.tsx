'use client';

import Link from 'next/link';
import { useEffect, useState } from 'react';
import { viewerHref } from '@/components/worklist/Worklist';
import { useLocale, useT } from '@/lib/i18n';
import { DIFF_SECTIONS, diffRows, type DiffRow } from '@/lib/reports/diff';
import { errorText, fetchPdfIn, type ReportVersion } from '@/lib/reports/pageQueries';
import { useReport, useVersions } from '@/lib/reports/queries';
import { ReportLinks } from './ReportLinks';

/** A report's saved versions; two picked → the per-section diff; beside it the PDF preview. */
export function ReportHistory({ reportId }: { reportId: string }) {
  const t = useT();
  const report = useReport(reportId);
  const [pick, setPick] = useState<{ from: number | null; to: number | null }>({ from: null, to: null });
  const versions = useVersions(reportId, pick.from, pick.to);
  const items = versions.data?.items;

  // The last two versions are compared until the user picks others.
  useEffect(() => {
    if (items && items.length >= 2 && pick.from === null && pick.to === null) {
      setPick({ from: items[items.length - 2].number, to: items[items.length - 1].number });
    }
  }, [items, pick.from, pick.to]);

  const failure = report.error ?? versions.error;
  if (failure) return <p role="alert" className="p-8 text-red-600" data-testid="history-error">{errorText(t, failure)}</p>;
  if (!report.data || !items) return <p className="p-8 text-slate-500">{t('common.loading')}</p>;
  const ordered = pick.from !== null && pick.to !== null && pick.from > pick.to;

  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4" data-testid="report-history">
      <div className="flex flex-wrap items-center gap-3">
        <Link href={viewerHref(report.data.study_instance_uid)} className="text-sm text-sky-700 hover:underline">
          ← {t('reports.history.backToViewer')}
        </Link>
        <h1 className="text-lg font-semibold">{t('reports.history.title')}</h1>
        <span className="rounded bg-slate-200 px-2 py-0.5 text-xs">{t(`reports.status.${report.data.status}`)}</span>
        <span className="ml-auto">
          <ReportLinks reportId={reportId} except="history" className="text-sky-700" />
        </span>
      </div>
      <div className="grid min-h-0 flex-1 grid-cols-1 gap-3 xl:grid-cols-2">
        <div className="flex min-h-0 flex-col gap-3">
          <VersionTable items={items} pick={pick} onPick={setPick} />
          <section className="rounded bg-white p-4 shadow-sm" data-testid="report-diff" aria-live="polite">
            <h2 className="mb-2 font-semibold">
              {pick.from !== null && pick.to !== null ? t('reports.history.diffTitle', { from: pick.from, to: pick.to }) : t('reports.history.pickTwo')}
            </h2>
            {ordered && <p className="mb-2 text-xs text-slate-500">{t('reports.history.reversed')}</p>}
            <DiffView diff={pick.from !== null && pick.to !== null && pick.from !== pick.to ? versions.data?.diff : undefined} loading={versions.isFetching} />
          </section>
        </div>
        <PdfPreview reportId={reportId} version={report.data.version} />
      </div>
    </div>
  );
}

function VersionTable({
  items,
  pick,
  onPick,
}: {
  items: ReportVersion[];
  pick: { from: number | null; to: number | null };
  onPick: (p: { from: number | null; to: number | null }) => void;
}) {
  const t = useT();
  const th = 'px-2 py-1 font-medium';
  return (
    <section className="rounded bg-white p-4 shadow-sm">
      <h2 className="mb-2 font-semibold">{t('reports.history.versions', { n: items.length })}</h2>
      <table className="w-full text-sm" data-testid="version-table">
        <thead className="text-left text-slate-600">
          <tr>
            <th className={th}>{t('reports.history.col.number')}</th>
            <th className={th}>{t('reports.history.col.author')}</th>
            <th className={th}>{t('reports.history.col.savedAt')}</th>
            <th className={th}>{t('reports.history.col.status')}</th>
            <th className={th}>{t('reports.history.col.signed')}</th>
            <th className={th}>{t('reports.history.col.from')}</th>
            <th className={th}>{t('reports.history.col.to')}</th>
          </tr>
        </thead>
        <tbody>
          {items.map((v) => (
            <tr key={v.number} className="border-t border-slate-100" data-testid="version-row" data-number={v.number}>
              <td className="px-2 py-1 tabular-nums">v{v.number}</td>
              <td className="px-2 py-1" translate="no">{v.saved_by_name}</td>
              <td className="px-2 py-1 whitespace-nowrap">{new Date(v.saved_at).toLocaleString()}</td>
              <td className="px-2 py-1">
                {t(`reports.status.${v.status}`)}
                {v.reason && <span className="block text-xs text-slate-500">{v.reason}</span>}
              </td>
              <td className="px-2 py-1">
                {v.signed ? (
                  <span className="text-emerald-700" title={v.key_id ?? ''}>
                    ✓ <span className="sr-only">{t('reports.history.signed')}</span>
                  </span>
                ) : (
                  <span className="sr-only">{t('reports.history.unsigned')}</span>
                )}
              </td>
              <td className="px-2 py-1">
                <input type="radio" name="diff-from" checked={pick.from === v.number} onChange={() => onPick({ ...pick, from: v.number })} aria-label={t('reports.history.pickFrom', { n: v.number })} data-testid={`diff-from-${v.number}`} />
              </td>
              <td className="px-2 py-1">
                <input type="radio" name="diff-to" checked={pick.to === v.number} onChange={() => onPick({ ...pick, to: v.number })} aria-label={t('reports.history.pickTo', { n: v.number })} data-testid={`diff-to-${v.number}`} />
              </td>
            </tr>
          ))}
        </tbody>
      </table>
    </section>
  );
}

function DiffView({ diff, loading }: { diff: Record<string, string[]> | null | undefined; loading: boolean }) {
  const t = useT();
  if (diff === undefined || (loading && !diff)) return <p className="text-sm text-slate-500">{loading ? t('common.loading') : ''}</p>;
  const sections = DIFF_SECTIONS.filter((s) => diff && diff[s]);
  if (!diff || sections.length === 0) return <p className="text-sm text-slate-500" data-testid="diff-none">{t('reports.history.noChange')}</p>;
  return (
    <div className="space-y-3">
      <p className="text-xs text-slate-500">{t('reports.history.legend')}</p>
      {sections.map((s) => (
        <div key={s} data-testid={`diff-${s}`}>
          <h3 className="text-sm font-medium text-slate-700">{s === 'addenda' ? t('reports.addenda') : t(`reports.sections.${s}`)}</h3>
          <div className="mt-1 rounded border border-slate-200 font-mono text-sm">
            {diffRows(diff[s]).map((row, i) => (
              <DiffLine key={i} row={row} />
            ))}
          </div>
        </div>
      ))}
    </div>
  );
}

/** Deleted lines: red, struck through, marked "−"; inserted: green, underlined, marked "+". */
function DiffLine({ row }: { row: DiffRow }) {
  const t = useT();
  if (row.kind === 'hunk') return <div className="bg-slate-50 px-2 text-xs text-slate-400">{row.text}</div>;
  const style = { same: 'text-slate-700', del: 'bg-red-50 text-red-900', add: 'bg-emerald-50 text-emerald-900' }[row.kind];
  const mark = { same: ' ', del: '−', add: '+' }[row.kind];
  const Tag = row.kind === 'del' ? 'del' : 'ins';
  const changed = row.kind === 'del' ? 'bg-red-200 line-through' : 'bg-emerald-200 underline';
  return (
    <div className={`flex gap-2 px-2 whitespace-pre-wrap ${style}`} data-testid={`diff-line-${row.kind}`}>
      <span aria-hidden="true" className="w-3 shrink-0 select-none">{mark}</span>
      {row.kind !== 'same' && <span className="sr-only">{t(`reports.history.${row.kind}`)}</span>}
      <span className={row.kind === 'del' ? 'line-through decoration-red-400' : ''}>
        {row.segments.map((seg, i) =>
          seg.changed && row.kind !== 'same' ? (
            <Tag key={i} className={changed} data-testid="diff-changed">
              {seg.text}
            </Tag>
          ) : (
            <span key={i}>{seg.text}</span>
          ),
        )}
      </span>
    </div>
  );
}

/** The current report as the server prints it: a blob (the bearer token cannot go in a URL). */
function PdfPreview({ reportId, version }: { reportId: string; version: number }) {
  const t = useT();
  const locale = useLocale((s) => s.locale);
  const [url, setUrl] = useState<string | null>(null);
  const [err, setErr] = useState<string | null>(null);
  useEffect(() => {
    let made: string | null = null;
    let cancelled = false;
    setUrl(null);
    setErr(null);
    fetchPdfIn(reportId, locale)
      .then((blob) => {
        if (cancelled) return;
        made = URL.createObjectURL(blob);
        setUrl(made);
      })
      .catch((e: unknown) => !cancelled && setErr(errorText(t, e)));
    return () => {
      cancelled = true;
      if (made) URL.revokeObjectURL(made);
    };
    // t changes with the locale, which is already a dependency.
    // eslint-disable-next-line react-hooks/exhaustive-deps
  }, [reportId, version, locale]);
  return (
    <section className="flex min-h-[32rem] flex-col rounded bg-white p-4 shadow-sm">
      <h2 className="mb-2 font-semibold">{t('reports.history.pdf')}</h2>
      {err && <p role="alert" className="text-sm text-red-600">{err}</p>}
      {!url && !err && <p className="text-sm text-slate-500">{t('common.loading')}</p>}
      {url && <iframe src={url} title={t('reports.history.pdf')} className="min-h-0 w-full flex-1 border border-slate-200" data-testid="report-pdf-preview" />}
    </section>
  );
}
