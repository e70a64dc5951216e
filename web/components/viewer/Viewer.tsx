'use client';

import Link from 'next/link';
import { useCallback, useEffect, useRef, useState } from 'react';
import { AiPanel } from '@/components/ai/AiPanel';
import { SendToDevice } from '@/components/devices/SendToDevice';
import { AuthImage, seriesThumbnailUrl } from '@/components/studies/Thumbnail';
import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { StudyDetail } from '@/lib/api/types';
import { ageAt, displayDate } from '@/lib/dates';
import { formatPersonName } from '@/lib/dicom/personName';
import { translate, useLocale, useT } from '@/lib/i18n';
import { useStudy } from '@/lib/queries/studies';
import {
  csCore,
  csTools,
  engine,
  initCornerstone,
  linkVoi,
  renderingPath,
  setPrimaryTool,
  TOOL,
  type PrimaryTool,
} from '@/lib/viewer/cornerstone';
import { linkedVoiTargets } from '@/lib/viewer/links';
import { presetsFor, voiRange } from '@/lib/viewer/presets';
import { lastWorklistHref } from '@/lib/worklist/urlState';
import { useNarrowScreen } from '@/lib/layout/useNarrowScreen';
import { askText } from '@/lib/viewer/textPrompt';
import { loadSeriesStack } from '@/lib/viewer/series';
import { MIN_VOLUME_SLICES, volumeCheck, type VolumeCheck } from '@/lib/viewer/volume';
import { ReportEditor } from '@/components/reports/ReportEditor';
import { captureKeyImage } from '@/components/reports/captureKeyImage';
import { HelpDialog } from './HelpDialog';
import { MprView } from './MprView';
import { MeasurementsPanel } from './MeasurementsPanel';
import { PriorsPanel } from './PriorsPanel';
import { TextPromptDialog } from './TextPromptDialog';
import { useReferenceLines } from './useReferenceLines';
import { useSavedMeasurements } from './useSavedMeasurements';
import { useSliceSync } from './useSliceSync';
import { SERIES_DRAG_TYPE, stackViewport, viewportId, ViewportPane } from './ViewportPane';

type Layout = '1x1' | '1x2' | '2x2';
const LAYOUT_SLOTS: Record<Layout, number> = { '1x1': 1, '1x2': 2, '2x2': 4 };
const LAYOUT_GRID: Record<Layout, string> = {
  '1x1': 'grid-cols-1 grid-rows-1',
  '1x2': 'grid-cols-2 grid-rows-1',
  '2x2': 'grid-cols-2 grid-rows-2',
};
// Phones (portrait): a prior compared with the study goes below it, not beside.
const NARROW_GRID: Record<Layout, string> = { ...LAYOUT_GRID, '1x2': 'grid-cols-1 grid-rows-2' };

const TOOLS: { id: PrimaryTool; key: string; toolName: string }[] = [
  { id: 'windowLevel', key: 'w', toolName: TOOL.windowLevel },
  { id: 'pan', key: 'p', toolName: TOOL.pan },
  { id: 'zoom', key: 'z', toolName: TOOL.zoom },
  { id: 'length', key: 'l', toolName: TOOL.length },
  { id: 'angle', key: 'a', toolName: TOOL.angle },
  { id: 'rectangle', key: 'b', toolName: TOOL.rectangle },
  { id: 'ellipse', key: 'e', toolName: TOOL.ellipse },
  { id: 'arrow', key: 'n', toolName: TOOL.arrow },
];

function Btn({
  onClick,
  active = false,
  title,
  children,
  testId,
  toggle = false,
}: {
  onClick: () => void;
  active?: boolean;
  title: string;
  children: React.ReactNode;
  testId?: string;
  /** An on/off switch: `active` is said as pressed. */
  toggle?: boolean;
}) {
  return (
    <button
      type="button"
      title={title}
      data-testid={testId}
      aria-pressed={toggle ? active : undefined}
      onClick={onClick}
      className={`rounded px-1.5 py-1 text-xs whitespace-nowrap ${
        active ? 'bg-sky-700 text-white' : 'text-neutral-300 hover:bg-neutral-800'
      }`}
    >
      {children}
    </button>
  );
}

function StudyHeader({ study }: { study: StudyDetail }) {
  const t = useT();
  const age = ageAt(study.patient_birth_date, study.study_date);
  const [worklistHref, setWorklistHref] = useState('/studies/');
  useEffect(() => setWorklistHref(lastWorklistHref()), []);
  return (
    <div className="flex flex-wrap items-center gap-x-4 gap-y-0.5 border-b border-neutral-800 px-3 py-1.5 text-sm" data-testid="study-header">
      <Link href={worklistHref} className="text-sky-400 hover:underline" data-testid="back-to-worklist">
        ← {t('nav.worklist')}
      </Link>
      <span className="font-semibold text-neutral-100" data-testid="header-patient-name">
        {formatPersonName(study.patient_name)}
      </span>
      <span>
        {t('viewer.overlay.id')}: {study.patient_id}
      </span>
      <span>{[study.patient_sex, age].filter(Boolean).join(' ')}</span>
      <span>{displayDate(study.study_date)}</span>
      {study.accession_number && (
        <span>
          {t('worklist.col.accession')}: {study.accession_number}
        </span>
      )}
      <span className="min-w-0 truncate text-neutral-400">{study.study_description}</span>
      <SendToDevice studyUid={study.study_instance_uid} />
    </div>
  );
}

export default function Viewer({ studyUid }: { studyUid: string }) {
  const t = useT();
  const localeRef = useRef(useLocale.getState().locale);
  useEffect(() => useLocale.subscribe((s) => (localeRef.current = s.locale)), []);
  const { data: study, error } = useStudy(studyUid);
  const [ready, setReady] = useState(false);
  const [layout, setLayout] = useState<Layout>('1x1');
  const [slots, setSlots] = useState<(string | null)[]>([null, null, null, null]);
  const [active, setActive] = useState(0);
  const activeRef = useRef(active);
  activeRef.current = active;
  // A prior study open beside this one (pane 2 of a 1×2 layout), and whether scrolling is linked.
  const [compare, setCompare] = useState<string | null>(null);
  const [syncScroll, setSyncScroll] = useState(true);
  // With more than one pane: W/L copied to the panes of the same modality (off until asked
  // for), and where the active pane's slice cuts the others' (on).
  const [linkWl, setLinkWl] = useState(false);
  const [referenceLines, setReferenceLinesOn] = useState(true);
  const { data: priorStudy } = useStudy(compare);
  const grid = useRef<HTMLDivElement>(null);
  const [tool, setTool] = useState<PrimaryTool>('windowLevel');
  const [cine, setCine] = useState(false);
  const [fps, setFps] = useState(15);
  const [help, setHelp] = useState(false);
  const narrow = useNarrowScreen();
  // Side panels: open beside the images on a wide screen; drawers over them on a phone, shut
  // until asked for (null: the screen's default).
  const [panelChoice, setPanelOpen] = useState<boolean | null>(null);
  const panelOpen = panelChoice ?? !narrow;
  const [seriesChoice, setSeriesOpen] = useState<boolean | null>(null);
  const seriesOpen = seriesChoice ?? !narrow;
  const [moreOpen, setMoreOpen] = useState(false);
  const savedMeasurements = useSavedMeasurements(studyUid, ready && !!study);
  // MPR of one series (shown over the stack panes, which stay as they were), or null.
  const [mpr, setMpr] = useState<{ study: StudyDetail; seriesUid: string } | null>(null);
  const mprRef = useRef(mpr);
  mprRef.current = mpr;
  const [volume, setVolume] = useState<{ key: string; check: VolumeCheck } | null>(null);

  useEffect(() => {
    let cancelled = false;
    const text = { t: (key: string, vars?: Record<string, string | number>) => translate(localeRef.current, key, vars), promptText: askText };
    void initCornerstone(text).then(() => {
      if (!cancelled) {
        setReady(true);
        // Read by the browser tests and bench/viewer_bench.mjs.
        (window as unknown as { __hf?: object }).__hf = {
          renderingPath: renderingPath(),
          viewport: (i: number) => stackViewport(i),
          cached: (i: number) =>
            (stackViewport(i)?.getImageIds() ?? []).filter((id) => csCore.cache.isLoaded(id)).length,
          imageRendered: csCore.Enums.Events.IMAGE_RENDERED,
        };
      }
    });
    return () => {
      cancelled = true;
      // Measurements belong to this viewing session (not saved yet): none leak into the next study.
      try {
        csTools.annotation.state.removeAllAnnotations();
      } catch {
        /* Cornerstone never initialised */
      }
    };
  }, []);

  // Fill empty slots with the study's series, in order.
  useEffect(() => {
    if (!study) return;
    setSlots((current) => {
      const used = new Set(current.filter(Boolean));
      const free = study.series.map((s) => s.series_instance_uid).filter((u) => !used.has(u));
      const n = LAYOUT_SLOTS[layout];
      return current.map((s, i) => (s ?? (i < n ? (free.shift() ?? study.series[0]?.series_instance_uid ?? null) : null)));
    });
  }, [study, layout]);

  // The prior's pane shows its series of the modality in the first pane (else its first).
  const firstModality = study?.series.find((s) => s.series_instance_uid === slots[0])?.modality;
  const priorSeries = (priorStudy?.series.find((s) => s.modality === firstModality) ?? priorStudy?.series[0])?.series_instance_uid ?? null;
  const comparing = !!compare && !!priorStudy;
  const paneStudy = (i: number) => (comparing && i === 1 ? priorStudy : study);
  const paneSeries = (i: number) => (comparing && i === 1 ? priorSeries : slots[i]);
  useSliceSync(grid, comparing && syncScroll, activeRef, 2);

  const panes = LAYOUT_SLOTS[layout];
  const paneModalities = Array.from(
    { length: panes },
    (_, i) => paneStudy(i)?.series.find((s) => s.series_instance_uid === paneSeries(i))?.modality ?? '',
  ).join('|');
  // The active pane leads both links. Passive effects: the panes' viewports (enabled in their
  // own effects, which run first) exist by then.
  useEffect(() => {
    if (!ready) return;
    const targets = linkWl ? linkedVoiTargets(paneModalities.split('|'), active) : [];
    linkVoi(targets.length > 0 ? viewportId(active) : null, targets.map(viewportId));
  }, [ready, linkWl, active, paneModalities]);
  useEffect(() => (ready ? () => linkVoi(null, []) : undefined), [ready]);
  useReferenceLines(grid, ready, referenceLines && panes > 1 && !!study, active);

  const openPrior = (uid: string | null) => {
    setCompare(uid);
    if (uid) setLayout('1x2');
  };
  const chooseLayout = (l: Layout) => {
    setCompare(null);
    setLayout(l);
  };

  // Window presets follow the active pane's modality (HU windows mean nothing on MR, US, DX).
  const activeModality = paneStudy(active)?.series.find((s) => s.series_instance_uid === paneSeries(active))?.modality;
  const presets = presetsFor(activeModality);

  // Whether the active pane's series is a volume (MPR offered): from its metadata.
  const activeStudy = paneStudy(active);
  const activeSeries = paneSeries(active);
  const volumeKey = activeStudy && activeSeries ? `${activeStudy.study_instance_uid}/${activeSeries}` : null;
  useEffect(() => {
    if (!activeStudy || !activeSeries || !volumeKey) return;
    let cancelled = false;
    void loadSeriesStack(activeStudy.study_instance_uid, activeSeries)
      .then((entries) => {
        if (cancelled) return;
        const instances = [...new Set(entries.map((e) => e.instance))];
        setVolume({ key: volumeKey, check: volumeCheck(activeModality, instances) });
      })
      .catch(() => {
        if (!cancelled) setVolume({ key: volumeKey, check: { ok: false, reason: 'geometry', spacing: null } });
      });
    return () => {
      cancelled = true;
    };
  }, [activeStudy, activeSeries, volumeKey, activeModality]);
  const volumeNow = volume && volume.key === volumeKey ? volume.check : null;
  const toggleMpr = () => {
    if (mpr) setMpr(null);
    else if (volumeNow?.ok && activeStudy && activeSeries) {
      if (cine) {
        const vp = stackViewport(active);
        if (vp) csTools.utilities.cine.stopClip(vp.element);
        setCine(false);
      }
      setMpr({ study: activeStudy, seriesUid: activeSeries });
    }
  };

  const withActive = useCallback(
    (fn: (vp: NonNullable<ReturnType<typeof stackViewport>>) => void) => {
      const vp = stackViewport(active);
      if (!vp) return;
      fn(vp);
      vp.render();
    },
    [active],
  );

  const selectTool = useCallback((id: PrimaryTool) => {
    setPrimaryTool(id);
    setTool(id);
  }, []);

  const actions = {
    preset: (i: number) => {
      const p = presets[i];
      if (p) withActive((vp) => vp.setProperties({ voiRange: voiRange(p.width, p.center) }));
    },
    invert: () => withActive((vp) => vp.setProperties({ invert: !vp.getProperties().invert })),
    rotate: (deg: number) =>
      withActive((vp) => {
        const r = vp.getViewPresentation().rotation ?? 0;
        vp.setViewPresentation({ rotation: (((r + deg) % 360) + 360) % 360 });
      }),
    flipH: () => withActive((vp) => vp.setViewPresentation({ flipHorizontal: !vp.getViewPresentation().flipHorizontal })),
    flipV: () => withActive((vp) => vp.setViewPresentation({ flipVertical: !vp.getViewPresentation().flipVertical })),
    fit: () => withActive((vp) => vp.resetCamera({ resetPan: true, resetZoom: true, resetToCenter: true })),
    reset: () =>
      withActive((vp) => {
        vp.resetCamera();
        vp.resetProperties();
      }),
    scroll: (delta: number) => {
      const vp = stackViewport(active);
      if (!vp) return;
      const n = vp.getImageIds().length;
      const next = Math.min(n - 1, Math.max(0, vp.getCurrentImageIdIndex() + delta));
      void vp.setImageIdIndex(next);
    },
    toggleCine: () => {
      const vp = stackViewport(active);
      if (!vp) return;
      if (cine) csTools.utilities.cine.stopClip(vp.element);
      else csTools.utilities.cine.playClip(vp.element, { framesPerSecond: fps, loop: true });
      setCine(!cine);
    },
    deleteSelected: () => {
      for (const uid of csTools.annotation.selection.getAnnotationsSelected()) {
        csTools.annotation.state.removeAnnotation(uid);
      }
      engine().render();
    },
  };
  const actionsRef = useRef(actions);
  actionsRef.current = actions;
  const presetsRef = useRef(presets);
  presetsRef.current = presets;

  useEffect(() => {
    const onKey = (e: KeyboardEvent) => {
      const target = e.target as HTMLElement | null;
      if (target && ['INPUT', 'SELECT', 'TEXTAREA'].includes(target.tagName) && (target as HTMLInputElement).type !== 'range') return;
      if (e.ctrlKey || e.metaKey || e.altKey) return;
      // The stack panes are under the MPR panes: their keys wait until MPR is left.
      if (mprRef.current) return;
      const a = actionsRef.current;
      const k = e.key;
      const presetIndex = presetsRef.current.findIndex((p) => p.key === k);
      const toolHit = TOOLS.find((x) => x.key === k.toLowerCase());
      if (k === '?') setHelp((h) => !h);
      else if (k === 'Escape') setHelp(false);
      else if (presetIndex >= 0) a.preset(presetIndex);
      else if (k === 'ArrowUp' || k === 'ArrowLeft') a.scroll(-1);
      else if (k === 'ArrowDown' || k === 'ArrowRight') a.scroll(1);
      else if (k === 'PageUp') a.scroll(-10);
      else if (k === 'PageDown') a.scroll(10);
      else if (k === 'Home') a.scroll(-1e9);
      else if (k === 'End') a.scroll(1e9);
      else if (k === '[') a.rotate(-90);
      else if (k === ']') a.rotate(90);
      else if (k === 'h' || k === 'H') a.flipH();
      else if (k === 'v' || k === 'V') a.flipV();
      else if (k === 'i' || k === 'I') a.invert();
      else if (k === 'f' || k === 'F') a.fit();
      else if (k === 'r' || k === 'R') a.reset();
      else if (k === ' ') a.toggleCine();
      else if (k === 'Delete' || k === 'Backspace') a.deleteSelected();
      else if (toolHit) selectTool(toolHit.id);
      else return;
      e.preventDefault();
    };
    window.addEventListener('keydown', onKey);
    return () => window.removeEventListener('keydown', onKey);
  }, [selectTool]);

  // A new frame rate takes effect at once while playing.
  useEffect(() => {
    if (!cine) return;
    const vp = stackViewport(active);
    if (vp) csTools.utilities.cine.playClip(vp.element, { framesPerSecond: fps, loop: true });
  }, [fps, cine, active]);

  if (error) {
    const info = describeError(error);
    return (
      <p className="p-8 text-red-400" role="alert" data-testid="viewer-error">
        {info.status === 404 ? t('viewer.studyNotFound') : errorMessage(t, info)}
      </p>
    );
  }
  if (!study || !ready) {
    return <p className="p-8 text-neutral-400">{t('common.loading')}</p>;
  }

  const n = panes;
  const separator = <span className="mx-0.5 h-4 w-px bg-neutral-700" />;
  const layoutButtons = (Object.keys(LAYOUT_SLOTS) as Layout[]).map((l) => (
    <Btn key={l} onClick={() => chooseLayout(l)} active={layout === l && !comparing} title={t('viewer.layout')} testId={`layout-${l}`}>
      {l.replace('x', '×')}
    </Btn>
  ));
  const toolButtons = TOOLS.map((x) => (
    <Btn
      key={x.id}
      onClick={() => selectTool(x.id)}
      active={tool === x.id}
      title={`${t(`viewer.tools.${x.toolName}`)} (${x.key.toUpperCase()})`}
      testId={`tool-${x.id}`}
    >
      {t(`viewer.tools.${x.toolName}`)}
    </Btn>
  ));
  const presetButtons = presets.map((p, i) => (
    <Btn key={p.id} onClick={() => actions.preset(i)} title={`${p.width}/${p.center} (${p.key})`} testId={`preset-${p.id}`}>
      {t(`viewer.presets.${p.id}`)}
    </Btn>
  ));
  const fitButton = (
    <Btn onClick={actions.fit} title="F" testId="fit">
      {t('viewer.actions.fit')}
    </Btn>
  );
  const imageActions = (
    <>
      <Btn onClick={() => actions.rotate(90)} title="]" testId="rotate">
        {t('viewer.actions.rotate')}
      </Btn>
      <Btn onClick={actions.flipH} title="H" testId="flip-h">
        {t('viewer.actions.flipH')}
      </Btn>
      <Btn onClick={actions.flipV} title="V" testId="flip-v">
        {t('viewer.actions.flipV')}
      </Btn>
      <Btn onClick={actions.invert} title="I" testId="invert">
        {t('viewer.actions.invert')}
      </Btn>
    </>
  );
  const resetButton = (
    <Btn onClick={actions.reset} title="R" testId="reset">
      {t('viewer.actions.reset')}
    </Btn>
  );
  const cineControls = (
    <>
      <Btn onClick={actions.toggleCine} active={cine} title="Space" testId="cine">
        {cine ? t('viewer.actions.stop') : t('viewer.actions.play')}
      </Btn>
      <label className="flex items-center gap-1 text-xs text-neutral-400">
        <input
          type="number"
          min={1}
          max={60}
          value={fps}
          onChange={(e) => setFps(Math.min(60, Math.max(1, Number(e.target.value) || 1)))}
          className="w-12 rounded bg-neutral-800 px-1 text-neutral-200"
          aria-label={t('viewer.fps')}
        />
        {t('viewer.fps')}
      </label>
      {comparing && (
        <Btn onClick={() => setSyncScroll((v) => !v)} active={syncScroll} toggle title={t('viewer.priors.sync')} testId="sync-scroll">
          {t('viewer.priors.sync')}
        </Btn>
      )}
      {n > 1 && (
        <>
          <Btn onClick={() => setLinkWl((v) => !v)} active={linkWl} toggle title={t('viewer.linkWlHint')} testId="link-wl">
            {t('viewer.linkWl')}
          </Btn>
          <Btn onClick={() => setReferenceLinesOn((v) => !v)} active={referenceLines} toggle title={t('viewer.referenceLinesHint')} testId="reference-lines">
            {t('viewer.referenceLines')}
          </Btn>
        </>
      )}
    </>
  );
  const mprButton = (
    <button
      type="button"
      data-testid="mpr"
      aria-pressed={!!mpr}
      disabled={!mpr && !volumeNow?.ok}
      title={
        mpr
          ? t('viewer.mpr.exitHint')
          : volumeNow?.ok
            ? t('viewer.mpr.hint')
            : t(`viewer.mpr.not.${volumeNow?.reason ?? 'loading'}`, { n: MIN_VOLUME_SLICES })
      }
      onClick={toggleMpr}
      className={`rounded px-1.5 py-1 text-xs whitespace-nowrap disabled:cursor-not-allowed disabled:text-neutral-600 ${
        mpr ? 'bg-sky-700 text-white' : 'text-neutral-300 hover:bg-neutral-800'
      }`}
    >
      {mpr ? t('viewer.mpr.exit') : t('viewer.mpr.button')}
    </button>
  );
  const helpButton = (
    <Btn onClick={() => setHelp(true)} title="?" testId="help">
      ?
    </Btn>
  );
  const panelToggle = (
    <Btn onClick={() => setPanelOpen(!panelOpen)} active={narrow && panelOpen} title={t('viewer.panel')} testId="toggle-panel">
      {narrow ? t('viewer.panelShort') : panelOpen ? '⟩' : '⟨'}
    </Btn>
  );
  const seriesToggle = (
    <Btn onClick={() => setSeriesOpen(!seriesOpen)} active={seriesOpen} title={t('viewer.seriesPanel')} testId="toggle-series">
      {t('viewer.seriesPanel')}
    </Btn>
  );
  // A phone's drawers close when a series is chosen, so the image shows again.
  const drawer = narrow ? 'absolute inset-y-0 z-20 bg-neutral-950 shadow-xl' : '';

  return (
    <div className="flex h-full flex-col" data-testid="viewer">
      <StudyHeader study={study} />
      {narrow ? (
        <div className="flex flex-wrap items-center gap-0.5 border-b border-neutral-800 px-1 py-1" data-testid="toolbar">
          {seriesToggle}
          {presetButtons}
          {fitButton}
          <Btn onClick={() => setMoreOpen((o) => !o)} active={moreOpen} title={t('viewer.more')} testId="toolbar-more">
            {t('viewer.more')}
          </Btn>
          <span className="ml-auto" />
          {panelToggle}
          {moreOpen && (
            <div className="flex w-full flex-wrap items-center gap-0.5 pt-1" data-testid="toolbar-more-items">
              {toolButtons}
              {separator}
              {imageActions}
              {resetButton}
              {separator}
              {cineControls}
              {helpButton}
            </div>
          )}
        </div>
      ) : (
        <div className="flex flex-wrap items-center gap-0.5 border-b border-neutral-800 px-1 py-1" data-testid="toolbar">
          {layoutButtons}
          {mprButton}
          {separator}
          {toolButtons}
          {presets.length > 0 && separator}
          {presetButtons}
          {separator}
          {imageActions}
          {fitButton}
          {resetButton}
          {separator}
          {cineControls}
          <span className="ml-auto" />
          {helpButton}
          {panelToggle}
        </div>
      )}
      <div className="relative flex min-h-0 flex-1">
        {seriesOpen && (
          <aside className={`w-36 shrink-0 overflow-y-auto border-r border-neutral-800 p-1.5 ${drawer} left-0`} data-testid="series-panel">
            {study.series.map((s) => (
              <button
                type="button"
                key={s.series_instance_uid}
                draggable
                data-testid="series-item"
                onDragStart={(e) => {
                  e.dataTransfer.setData(SERIES_DRAG_TYPE, s.series_instance_uid);
                  e.dataTransfer.effectAllowed = 'copy';
                }}
                onClick={() => {
                  // The prior's pane shows the prior's series; this study's go to the first pane.
                  const target = comparing && active === 1 ? 0 : active;
                  setSlots((cur) => cur.map((u, i) => (i === target ? s.series_instance_uid : u)));
                  if (narrow) setSeriesOpen(false);
                }}
                className={`mb-1.5 block w-full rounded p-1 text-left text-[11px] ${
                  slots.slice(0, n).includes(s.series_instance_uid) ? 'bg-neutral-800' : 'hover:bg-neutral-900'
                }`}
              >
                <AuthImage url={seriesThumbnailUrl(study.study_instance_uid, s.series_instance_uid)} alt="" className="aspect-square w-full" />
                <div className="mt-0.5 truncate">
                  {s.modality} #{s.series_number ?? '-'} {s.series_description}
                </div>
                <div className="text-neutral-500">{t('viewer.images', { n: s.number_of_instances })}</div>
              </button>
            ))}
          </aside>
        )}
        <div className="relative flex min-w-0 flex-1">
        <div ref={grid} className={`grid min-w-0 flex-1 gap-px bg-neutral-900 ${(narrow ? NARROW_GRID : LAYOUT_GRID)[layout]}`} data-testid="viewport-grid">
          {Array.from({ length: n }, (_, i) => (
            <ViewportPane
              key={i}
              index={i}
              study={paneStudy(i) ?? study}
              seriesUid={paneSeries(i)}
              active={i === active}
              onActivate={() => setActive(i)}
              onDropSeries={(uid) => {
                if (comparing && i === 1) return; // the prior's pane keeps the prior
                setSlots((cur) => cur.map((u, j) => (j === i ? uid : u)));
              }}
            />
          ))}
        </div>
        {mpr && <MprView key={`${mpr.study.study_instance_uid}/${mpr.seriesUid}`} study={mpr.study} seriesUid={mpr.seriesUid} />}
        </div>
        {panelOpen && (
          // On a phone the panel covers the images (full width): the report reads at full size.
          <aside
            className={`shrink-0 space-y-4 overflow-y-auto border-l border-neutral-800 p-3 ${narrow ? `${drawer} inset-x-0 w-full` : 'w-72'}`}
            data-testid="side-panel"
          >
            <PriorsPanel patientId={study.patient_id} currentUid={study.study_instance_uid} comparing={compare} onOpen={openPrior} />
            <MeasurementsPanel saved={savedMeasurements} />
            <section data-testid="panel-report">
              <h2 className="mb-1 text-xs font-semibold tracking-wide text-neutral-400 uppercase">{t('viewer.report.title')}</h2>
              <ReportEditor studyUid={study.study_instance_uid} modality={firstModality} captureKeyImage={() => captureKeyImage(stackViewport(active))} />
            </section>
            <AiPanel study={study} seriesUid={paneStudy(active) === study ? paneSeries(active) : slots[0]} />
          </aside>
        )}
      </div>
      {help && <HelpDialog onClose={() => setHelp(false)} />}
      <TextPromptDialog />
    </div>
  );
}
