'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { applicableModels, isSuggestion, percent, runDone, shownLabel, shownMeasurements } from '@/lib/ai/applicable';
import { aiErrorMessage } from '@/lib/ai/messages';
import { imageRef, overlayOf, STATUS_COLOUR, useAiOverlay, type OverlayFinding } from '@/lib/ai/overlay';
import { startRun, useAiModels, useReview, useRun, useStudyRuns } from '@/lib/ai/queries';
import type { AiFinding, AiReview } from '@/lib/ai/types';
import type { StudyDetail } from '@/lib/api/types';
import { hasPermission, useSession } from '@/lib/auth/store';
import { useLocale, useT } from '@/lib/i18n';
import { csCore, engine } from '@/lib/viewer/cornerstone';
import { askText } from '@/lib/viewer/textPrompt';

/** Scroll the viewport that holds the finding's image to it. */
function showImage(f: AiFinding): void {
  if (!f.sop_instance_uid) return;
  for (const vp of engine().getViewports()) {
    if (!(vp instanceof csCore.StackViewport)) continue;
    const i = vp.getImageIds().findIndex((id) => {
      const r = imageRef(id);
      return r?.sopInstanceUid === f.sop_instance_uid && r.frame === (f.frame ?? 1);
    });
    if (i >= 0) {
      void vp.setImageIdIndex(i);
      useAiOverlay.getState().select(f.id);
      return;
    }
  }
}

function Measurement({ name, value }: { name: string; value: number }) {
  const t = useT();
  const key = `ai.measure.${name}`;
  const label = t(key);
  return (
    <span className="mr-2 whitespace-nowrap tabular-nums" data-testid="ai-measurement" data-name={name}>
      {label === key ? name : label}: {value}
    </span>
  );
}

function FindingItem({ finding, runId, canReview }: { finding: AiFinding; runId: string; canReview: boolean }) {
  const t = useT();
  const review = useReview(runId);
  const [error, setError] = useState<string | null>(null);
  const editing = useAiOverlay((s) => s.editing);
  const setEditing = useAiOverlay((s) => s.setEditing);
  const decide = async (body: AiReview): Promise<boolean> => {
    setError(null);
    try {
      await review.mutateAsync({ id: finding.id, body });
      return true;
    } catch (err) {
      setError(aiErrorMessage(t, err));
      return false;
    }
  };
  const shape = overlayOf(finding);
  const adjusting = editing?.id === finding.id ? editing : null;
  const adjust = () => {
    if (!shape) return;
    showImage(finding);
    setEditing({ id: finding.id, bbox: shape.bbox, contour: shape.contour });
  };
  const saveGeometry = async () => {
    if (!adjusting) return;
    const geometry = adjusting.contour ? { contour: adjusting.contour } : { bbox: adjusting.bbox };
    if (await decide({ decision: 'edit', geometry, version: finding.version })) setEditing(null);
  };
  const edit = async () => {
    const label = await askText(shownLabel(finding));
    if (label) await decide({ decision: 'edit', label });
  };
  const suggestion = isSuggestion(finding);
  return (
    <li className="rounded border border-neutral-800 p-1.5 text-xs" data-testid="ai-finding" data-finding-id={finding.id} data-status={finding.status} data-label={shownLabel(finding)}>
      <button type="button" className="flex w-full items-center gap-1.5 text-left" onClick={() => showImage(finding)} data-testid="ai-finding-show">
        <span className="inline-block h-2 w-2 shrink-0 rounded-full" style={{ background: STATUS_COLOUR[finding.status] }} />
        <span className="font-semibold text-neutral-100">{shownLabel(finding)}</span>
        {finding.edited_label && <span className="text-neutral-500 line-through">{finding.label}</span>}
        <span className="ml-auto tabular-nums text-neutral-300">{percent(finding.probability)}</span>
      </button>
      <div className="mt-0.5 flex flex-wrap items-center gap-1">
        <span
          className={`rounded px-1 text-[10px] ${suggestion ? 'bg-yellow-500/20 text-yellow-300' : 'bg-neutral-800 text-neutral-300'}`}
          data-testid="ai-finding-status"
        >
          {t(`ai.status.${finding.status}`)}
        </span>
        {finding.reviewed_by && <span className="text-neutral-500">{finding.reviewed_by}</span>}
        {finding.edited_geometry && (
          <span className="text-sky-400" data-testid="ai-geometry-edited">
            {t('ai.geometryEdited')}
          </span>
        )}
      </div>
      {shownMeasurements(finding).length > 0 && (
        <div className="mt-0.5 text-neutral-400">
          {shownMeasurements(finding).map(([k, v]) => (
            <Measurement key={k} name={k} value={v} />
          ))}
        </div>
      )}
      {suggestion && canReview && (
        <div className="mt-1 flex gap-1">
          <button type="button" disabled={review.isPending} onClick={() => decide({ decision: 'accept' })} data-testid="ai-accept" className="rounded bg-emerald-800 px-1.5 py-0.5 text-white hover:bg-emerald-700 disabled:opacity-50">
            {t('ai.accept')}
          </button>
          <button type="button" disabled={review.isPending} onClick={() => decide({ decision: 'reject' })} data-testid="ai-reject" className="rounded bg-neutral-700 px-1.5 py-0.5 text-white hover:bg-neutral-600 disabled:opacity-50">
            {t('ai.reject')}
          </button>
          <button type="button" disabled={review.isPending} onClick={edit} data-testid="ai-edit" className="rounded bg-sky-800 px-1.5 py-0.5 text-white hover:bg-sky-700 disabled:opacity-50">
            {t('ai.edit')}
          </button>
        </div>
      )}
      {canReview && shape && finding.status !== 'rejected' && !adjusting && (
        <button type="button" disabled={review.isPending || !!editing} onClick={adjust} data-testid="ai-edit-geometry" className="mt-1 rounded bg-neutral-800 px-1.5 py-0.5 text-sky-300 hover:bg-neutral-700 disabled:opacity-50">
          {t('ai.editGeometry')}
        </button>
      )}
      {adjusting && (
        <div className="mt-1 space-y-1" data-testid="ai-geometry-editor">
          <p className="text-neutral-400">{t('ai.geometryHint')}</p>
          <div className="flex gap-1">
            <button type="button" disabled={review.isPending} onClick={saveGeometry} data-testid="ai-geometry-save" className="rounded bg-sky-700 px-1.5 py-0.5 text-white hover:bg-sky-600 disabled:opacity-50">
              {t('ai.saveGeometry')}
            </button>
            <button type="button" onClick={() => setEditing(null)} data-testid="ai-geometry-cancel" className="rounded bg-neutral-700 px-1.5 py-0.5 text-white hover:bg-neutral-600">
              {t('ai.cancelGeometry')}
            </button>
          </div>
        </div>
      )}
      {error && (
        <p role="alert" className="mt-1 text-red-400">
          {error}
        </p>
      )}
    </li>
  );
}

function Progress({ status, createdAt }: { status: string; createdAt: string }) {
  const t = useT();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(timer);
  }, []);
  const seconds = Math.max(0, Math.round((now - Date.parse(createdAt)) / 1000));
  return (
    <div data-testid="ai-progress" data-status={status} className="text-xs text-neutral-300">
      <div className="mb-1 h-1 overflow-hidden rounded bg-neutral-800">
        <div className={`h-full bg-sky-500 ${status === 'running' ? 'w-2/3 animate-pulse' : 'w-1/6'}`} />
      </div>
      {t(`ai.run.${status}`)} · {t('ai.run.elapsed', { s: seconds })}
    </div>
  );
}

/** The viewer's AI panel: run a model on the active series, follow it, review its findings. */
export function AiPanel({ study, seriesUid }: { study: StudyDetail; seriesUid: string | null }) {
  const t = useT();
  const locale = useLocale((s) => s.locale);
  const me = useSession((s) => s.me);
  const client = useQueryClient();
  const canRead = hasPermission(me, 'ai:read');
  const canRun = hasPermission(me, 'ai:run');
  const canReview = hasPermission(me, 'ai:review');
  const { data: models, error: modelsError } = useAiModels(canRead);
  const series = study.series.find((s) => s.series_instance_uid === seriesUid);
  const fits = applicableModels(models ?? [], series);
  const [choice, setChoice] = useState('');
  const chosen = fits.find((m) => m.name === choice) ?? fits[0];
  const [runId, setRunId] = useState<string | null>(null);
  const [startError, setStartError] = useState<string | null>(null);
  const [starting, setStarting] = useState(false);
  // Without a run started here, the study's latest (an earlier or automatic one) is shown.
  const { data: history } = useStudyRuns(study.study_instance_uid, locale, canRead);
  const shownId = runId ?? history?.[0]?.id ?? null;
  const { data: run, error: runError } = useRun(shownId, locale);
  const visible = useAiOverlay((s) => s.visible);
  const setVisible = useAiOverlay((s) => s.setVisible);
  const setFindings = useAiOverlay((s) => s.setFindings);

  // A new study starts without the previous one's run.
  useEffect(() => setRunId(null), [study.study_instance_uid]);
  useEffect(() => {
    setFindings((shownId && run?.id === shownId ? run.findings : []).map(overlayOf).filter((f): f is OverlayFinding => !!f));
  }, [run, shownId, setFindings]);
  useEffect(() => () => setFindings([]), [setFindings]);
  // Another run or study shown: no geometry is left half-adjusted.
  useEffect(() => () => useAiOverlay.getState().setEditing(null), [shownId]);
  // The SR and SEG a run stored are new series of the study.
  const done = runDone(run);
  useEffect(() => {
    if (done && runId && run?.id === runId && run.status === 'succeeded') void client.invalidateQueries({ queryKey: ['study', study.study_instance_uid] });
  }, [done, runId, run?.id, run?.status, client, study.study_instance_uid]);

  const start = async () => {
    if (!chosen || !seriesUid) return;
    setStartError(null);
    setStarting(true);
    try {
      setRunId(await startRun({ model: chosen.name, study_instance_uid: study.study_instance_uid, series_instance_uid: seriesUid }));
      void client.invalidateQueries({ queryKey: ['ai-study-runs', study.study_instance_uid] });
    } catch (err) {
      setStartError(aiErrorMessage(t, err));
    } finally {
      setStarting(false);
    }
  };

  const title = <h2 className="mb-1 text-xs font-semibold tracking-wide text-neutral-400 uppercase">{t('viewer.ai.title')}</h2>;
  if (!canRead) {
    return (
      <section data-testid="panel-ai">
        {title}
        <p className="text-xs text-neutral-500">{t('ai.noPermission')}</p>
      </section>
    );
  }
  const busy = starting || (!!runId && !done);
  const shown = run && run.id === shownId ? run : null;
  return (
    <section data-testid="panel-ai" className="space-y-2">
      {title}
      <p className="text-[11px] text-neutral-500">{t('ai.disclaimer')}</p>
      {modelsError && <p role="alert" className="text-xs text-red-400">{aiErrorMessage(t, modelsError)}</p>}
      {models && fits.length === 0 && (
        <p className="text-xs text-neutral-500" data-testid="ai-no-model">
          {t('ai.noModel', { modality: series?.modality ?? '-' })}
        </p>
      )}
      {canRun && fits.length > 0 && (
        <div className="flex items-center gap-1">
          <select
            aria-label={t('ai.model')}
            data-testid="ai-model-select"
            value={chosen?.name ?? ''}
            onChange={(e) => setChoice(e.target.value)}
            className="min-w-0 flex-1 rounded bg-neutral-800 px-1 py-0.5 text-xs text-neutral-200"
          >
            {fits.map((m) => (
              <option key={m.id} value={m.name}>
                {m.name} {m.active_version}
              </option>
            ))}
          </select>
          <button
            type="button"
            onClick={start}
            disabled={busy}
            data-testid="ai-run"
            className="rounded bg-sky-700 px-2 py-0.5 text-xs text-white hover:bg-sky-600 disabled:opacity-50"
          >
            {t('ai.runButton')}
          </button>
        </div>
      )}
      {startError && <p role="alert" className="text-xs text-red-400" data-testid="ai-error">{startError}</p>}
      {runError && <p role="alert" className="text-xs text-red-400" data-testid="ai-error">{aiErrorMessage(t, runError)}</p>}
      {history && history.length > 1 && (
        <select
          aria-label={t('ai.history')}
          data-testid="ai-history"
          value={shownId ?? ''}
          onChange={(e) => setRunId(e.target.value)}
          className="w-full rounded bg-neutral-800 px-1 py-0.5 text-[11px] text-neutral-300"
        >
          {history.map((r) => (
            <option key={r.id} value={r.id}>
              {r.created_at.slice(0, 16).replace('T', ' ')} {r.model} {r.version} · {t(`ai.run.${r.status}`)}
            </option>
          ))}
        </select>
      )}
      {shown && !done && <Progress status={shown.status} createdAt={shown.created_at} />}
      {shown && shown.status === 'failed' && (
        <p role="alert" className="text-xs text-red-400" data-testid="ai-run-failed">
          {t('ai.run.failed')}: {shown.reason}
        </p>
      )}
      {shown && shown.status === 'succeeded' && (
        <div data-testid="ai-result" data-run-id={shown.id} className="space-y-1">
          <div className="flex items-center gap-2 text-[11px] text-neutral-400">
            <span>
              {shown.model} {shown.version} · {t('ai.run.summary', { n: shown.images, ms: Math.round(shown.latency_ms ?? 0) })}
            </span>
            <label className="ml-auto flex items-center gap-1">
              <input type="checkbox" checked={visible} onChange={(e) => setVisible(e.target.checked)} data-testid="ai-overlay-toggle" />
              {t('ai.overlay')}
            </label>
          </div>
          {shown.findings.length === 0 ? (
            <p className="text-xs text-neutral-500" data-testid="ai-no-findings">{t('ai.noFindings')}</p>
          ) : (
            <ul className="space-y-1" data-testid="ai-findings">
              {shown.findings.map((f) => (
                <FindingItem key={f.id} finding={f} runId={shown.id} canReview={canReview} />
              ))}
            </ul>
          )}
          {(shown.sr_sop_instance_uid || shown.seg_sop_instance_uid) && (
            <p className="text-[11px] text-neutral-500" data-testid="ai-stored">
              {t('ai.stored', { what: [shown.sr_sop_instance_uid && 'SR', shown.seg_sop_instance_uid && 'SEG'].filter(Boolean).join(' + ') })}
            </p>
          )}
        </div>
      )}
    </section>
  );
}
