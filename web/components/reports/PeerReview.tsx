'use client';

import Link from 'next/link';
import { useState } from 'react';
import { Pager } from '@/components/shell/Pager';
import { viewerHref } from '@/components/worklist/Worklist';
import { hasPermission, useSession } from '@/lib/auth/store';
import { displayDate } from '@/lib/dates';
import { displayName, useNameOrder } from '@/lib/patients/names';
import { useT } from '@/lib/i18n';
import {
  errorText,
  usePeerResults,
  usePeerReview,
  usePeerReviews,
  useScoreReview,
  type PeerReviewItem,
  type PersonRef,
  type ReviewStatus,
} from '@/lib/reports/pageQueries';
import { SCORES, scoreBody, scoreLabel, scoreProblem, scoreRows, type RadpeerScore, type Significance } from '@/lib/reports/peerReview';
import { SECTIONS } from '@/lib/reports/types';

type Tab = ReviewStatus | 'results';
const when = (at: string | null | undefined) => (at ? new Date(at).toLocaleString() : '—');
const person = (p: PersonRef | null) => (p ? p.display_name || p.username : '—');

/** RADPEER peer review: the reviewer's queue and score form; the results for report:qc. */
export function PeerReview() {
  const t = useT();
  const me = useSession((s) => s.me);
  const canQc = hasPermission(me, 'report:qc');
  const [tab, setTab] = useState<Tab>('pending');
  const tabs: Tab[] = canQc ? ['pending', 'done', 'results'] : ['pending', 'done'];
  return (
    <div className="flex h-full flex-col gap-3 overflow-auto p-4" data-testid="peer-review">
      <h1 className="text-lg font-semibold">{t('peerReview.title')}</h1>
      <div role="tablist" aria-label={t('peerReview.title')} className="flex gap-1">
        {tabs.map((k) => (
          <button
            key={k}
            type="button"
            role="tab"
            aria-selected={tab === k}
            onClick={() => setTab(k)}
            className={`rounded-t px-4 py-1.5 text-sm ${tab === k ? 'bg-white font-medium shadow-sm' : 'text-slate-600 hover:bg-white/60'}`}
            data-testid={`peer-tab-${k}`}
          >
            {t(`peerReview.tabs.${k}`)}
          </button>
        ))}
      </div>
      <div className="-mt-3 min-h-0 flex-1" role="tabpanel">
        {tab === 'results' ? <Results /> : <Queue key={tab} status={tab} />}
      </div>
    </div>
  );
}

function Queue({ status }: { status: ReviewStatus }) {
  const t = useT();
  const [offset, setOffset] = useState(0);
  const [chosen, setChosen] = useState<string | null>(null);
  const queue = usePeerReviews(status, offset, 25);
  const order = useNameOrder((s) => s.order);
  const items = queue.data?.items ?? [];
  const th = 'px-2 py-1 font-medium whitespace-nowrap';
  return (
    <div className="grid h-full grid-cols-1 gap-3 xl:grid-cols-2">
      <section className="rounded bg-white p-3 shadow-sm">
        {queue.error && <p role="alert" className="text-sm text-red-600">{errorText(t, queue.error)}</p>}
        <table className="w-full text-sm" data-testid="peer-queue">
          <thead className="text-left text-slate-600">
            <tr>
              <th className={th}>{t('peerReview.col.patient')}</th>
              <th className={th}>{t('peerReview.col.modality')}</th>
              <th className={th}>{t('peerReview.col.studyDate')}</th>
              <th className={th}>{t('peerReview.col.assignedAt')}</th>
              <th className={th}>{status === 'done' ? t('peerReview.col.score') : ''}</th>
            </tr>
          </thead>
          <tbody>
            {items.map((r) => (
              <tr
                key={r.id}
                className={`cursor-pointer border-t border-slate-100 hover:bg-sky-50 ${chosen === r.id ? 'bg-sky-100' : ''}`}
                onClick={() => setChosen(r.id)}
                data-testid="peer-item"
                data-id={r.id}
              >
                <td className="px-2 py-1">
                  <button type="button" className="text-left text-sky-800 hover:underline" translate="no" onClick={() => setChosen(r.id)}>
                    {displayName(order, { pn: r.patient_name }) || '—'}
                  </button>
                </td>
                <td className="px-2 py-1">{r.modality.replaceAll('\\', '/')}</td>
                <td className="px-2 py-1">{displayDate(r.study_date)}</td>
                <td className="px-2 py-1 whitespace-nowrap">{when(r.assigned_at)}</td>
                <td className="px-2 py-1" data-testid="peer-item-score">{scoreLabel(r.score, r.significance)}</td>
              </tr>
            ))}
          </tbody>
        </table>
        {queue.data && items.length === 0 && <p className="py-3 text-sm text-slate-500" data-testid="peer-empty">{t(`peerReview.empty.${status}`)}</p>}
        <div className="mt-2">
          <Pager total={queue.data?.total ?? 0} offset={offset} limit={25} onOffset={setOffset} busy={queue.isFetching} totalTestId="peer-range" />
        </div>
      </section>
      {chosen ? <ReviewPane key={chosen} id={chosen} /> : <p className="p-3 text-sm text-slate-500">{t('peerReview.pick')}</p>}
    </div>
  );
}

/** The report under review, read-only, and the score form (or the score given). */
function ReviewPane({ id }: { id: string }) {
  const t = useT();
  const review = usePeerReview(id);
  const order = useNameOrder((s) => s.order);
  if (review.error) return <p role="alert" className="p-3 text-sm text-red-600">{errorText(t, review.error)}</p>;
  if (!review.data) return <p className="p-3 text-sm text-slate-500">{t('common.loading')}</p>;
  const r = review.data;
  return (
    <section className="space-y-3 rounded bg-white p-4 shadow-sm" data-testid="peer-pane">
      <div className="flex items-center gap-3">
        <h2 className="font-semibold" translate="no">{displayName(order, { pn: r.patient_name })}</h2>
        <span className="text-sm text-slate-500">{[r.modality.replaceAll('\\', '/'), displayDate(r.study_date)].filter(Boolean).join(' · ')}</span>
        <Link href={viewerHref(r.study_instance_uid)} className="ml-auto text-sm text-sky-700 hover:underline" data-testid="peer-open-viewer">
          {t('peerReview.openViewer')}
        </Link>
      </div>
      <div className="space-y-2 rounded border border-slate-200 p-3" data-testid="peer-report">
        {SECTIONS.filter((s) => r.report[s]).map((s) => (
          <div key={s}>
            <h3 className="text-xs text-slate-500">{t(`reports.sections.${s}`)}</h3>
            <p className="text-sm whitespace-pre-wrap">{r.report[s]}</p>
          </div>
        ))}
      </div>
      {r.status === 'done' ? <GivenScore review={r} /> : <ScoreForm id={r.id} />}
    </section>
  );
}

function GivenScore({ review }: { review: PeerReviewItem }) {
  const t = useT();
  return (
    <div className="rounded bg-emerald-50 p-3 text-sm" data-testid="peer-given">
      <p>
        {t('peerReview.given', { score: scoreLabel(review.score, review.significance) })} · {when(review.reviewed_at)}
      </p>
      {review.comment && <p className="mt-1 whitespace-pre-wrap text-slate-700">{review.comment}</p>}
    </div>
  );
}

function ScoreForm({ id }: { id: string }) {
  const t = useT();
  const mutation = useScoreReview();
  const [score, setScore] = useState<RadpeerScore | null>(null);
  const [significance, setSignificance] = useState<Significance | null>(null);
  const [comment, setComment] = useState('');
  const [err, setErr] = useState<string | null>(null);
  const problem = scoreProblem(score, significance);
  const submit = async () => {
    if (problem || score === null) return;
    setErr(null);
    try {
      await mutation.mutateAsync({ id, body: scoreBody(score, significance, comment) });
    } catch (e) {
      setErr(errorText(t, e));
    }
  };
  return (
    <form
      className="space-y-2"
      data-testid="peer-score-form"
      onSubmit={(e) => {
        e.preventDefault();
        void submit();
      }}
    >
      <fieldset>
        <legend className="text-sm font-medium">{t('peerReview.score')}</legend>
        {SCORES.map((s) => (
          <label key={s} className="flex items-start gap-2 py-0.5 text-sm">
            <input
              type="radio"
              name="radpeer-score"
              checked={score === s}
              onChange={() => {
                setScore(s);
                if (s === 1) setSignificance(null);
              }}
              data-testid={`peer-score-${s}`}
            />
            <span>
              <b>{s}</b> — {t(`peerReview.scores.${s}`)}
            </span>
          </label>
        ))}
      </fieldset>
      <fieldset disabled={score === null || score === 1}>
        <legend className="text-sm font-medium">{t('peerReview.significance')}</legend>
        {(['a', 'b'] as const).map((s) => (
          <label key={s} className={`mr-4 inline-flex items-center gap-1 text-sm ${score === null || score === 1 ? 'opacity-50' : ''}`}>
            <input type="radio" name="radpeer-significance" checked={significance === s} onChange={() => setSignificance(s)} data-testid={`peer-significance-${s}`} />
            <b>{s}</b> {t(`peerReview.significances.${s}`)}
          </label>
        ))}
      </fieldset>
      <label className="block text-sm">
        {t('peerReview.comment')}
        <textarea className="mt-1 w-full rounded border border-slate-300 p-1.5 text-sm" rows={3} maxLength={4000} value={comment} onChange={(e) => setComment(e.target.value)} data-testid="peer-comment" />
      </label>
      {problem && score !== null && <p className="text-xs text-amber-700">{t(problem)}</p>}
      {err && <p role="alert" className="text-sm text-red-600" data-testid="peer-error">{err}</p>}
      <button type="submit" disabled={!!problem || mutation.isPending} className="rounded bg-sky-700 px-3 py-1 text-sm text-white hover:bg-sky-800 disabled:opacity-50" data-testid="peer-submit">
        {t('peerReview.submit')}
      </button>
    </form>
  );
}

function Results() {
  const t = useT();
  const [offset, setOffset] = useState(0);
  const results = usePeerResults(offset, 50, true);
  const th = 'px-2 py-1 font-medium whitespace-nowrap';
  if (results.error) return <p role="alert" className="rounded bg-white p-3 text-sm text-red-600">{errorText(t, results.error)}</p>;
  const data = results.data;
  return (
    <section className="space-y-3 rounded bg-white p-3 shadow-sm" data-testid="peer-results">
      {data && (
        <dl className="flex flex-wrap gap-6 text-sm" data-testid="peer-summary">
          <div>
            <dt className="text-xs text-slate-500">{t('peerReview.summary.total')}</dt>
            <dd className="font-medium tabular-nums" data-testid="peer-summary-total">{data.summary.total}</dd>
          </div>
          <div>
            <dt className="text-xs text-slate-500">{t('peerReview.summary.done')}</dt>
            <dd className="font-medium tabular-nums" data-testid="peer-summary-done">{data.summary.done}</dd>
          </div>
          {scoreRows(data.summary.by_score).map(([k, n]) => (
            <div key={k}>
              <dt className="text-xs text-slate-500">{t('peerReview.summary.score', { score: k })}</dt>
              <dd className="font-medium tabular-nums" data-testid={`peer-summary-${k}`}>{n}</dd>
            </div>
          ))}
        </dl>
      )}
      <div className="overflow-x-auto">
        <table className="w-full text-sm" data-testid="peer-results-table">
          <thead className="text-left text-slate-600">
            <tr>
              <th className={th}>{t('peerReview.col.studyDate')}</th>
              <th className={th}>{t('peerReview.col.modality')}</th>
              <th className={th}>{t('peerReview.col.author')}</th>
              <th className={th}>{t('peerReview.col.approver')}</th>
              <th className={th}>{t('peerReview.col.reviewer')}</th>
              <th className={th}>{t('peerReview.col.status')}</th>
              <th className={th}>{t('peerReview.col.score')}</th>
              <th className={th}>{t('peerReview.comment')}</th>
              <th className={th}>{t('peerReview.col.reviewedAt')}</th>
            </tr>
          </thead>
          <tbody>
            {data?.items.map((r) => (
              <tr key={r.id} className="border-t border-slate-100" data-testid="peer-result" data-id={r.id}>
                <td className="px-2 py-1">{displayDate(r.study_date)}</td>
                <td className="px-2 py-1">{r.modality.replaceAll('\\', '/')}</td>
                <td className="px-2 py-1" translate="no">{person(r.author)}</td>
                <td className="px-2 py-1" translate="no">{person(r.approver)}</td>
                <td className="px-2 py-1" translate="no">{person(r.reviewer)}</td>
                <td className="px-2 py-1">{t(`peerReview.status.${r.status}`)}</td>
                <td className="px-2 py-1 font-medium" data-testid="peer-result-score">{scoreLabel(r.score, r.significance)}</td>
                <td className="max-w-xs px-2 py-1 whitespace-pre-wrap">{r.comment}</td>
                <td className="px-2 py-1 whitespace-nowrap">{when(r.reviewed_at)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
      <Pager total={data?.total ?? 0} offset={offset} limit={50} onOffset={setOffset} busy={results.isFetching} totalTestId="peer-results-range" />
    </section>
  );
}
