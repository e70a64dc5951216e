'use client';

import { useEffect, useRef, useState } from 'react';
import type { StudyDetail } from '@/lib/api/types';
import { formatPersonName } from '@/lib/dicom/personName';
import { useT } from '@/lib/i18n';
import { csCore } from '@/lib/viewer/cornerstone';
import { isImage } from '@/lib/viewer/objects';
import { closeMpr, MPR_PLANES, mprViewport, openMpr, resizeMpr, setSlab, volumeExtent, volumeIdFor, type MprPlane } from '@/lib/viewer/mpr';
import { loadSeriesStack } from '@/lib/viewer/series';
import { clampSlab, SLAB_MODES, type SlabMode } from '@/lib/viewer/volume';

/**
 * Axial, sagittal and coronal panes of one series as a volume, with crosshairs and a slab
 * control; shown over the stack panes, which stay as they were underneath. Each pane element
 * counts its renders (`data-renders`) and says when the volume has loaded (`data-loaded`), for
 * the browser tests.
 */
export function MprView({ study, seriesUid }: { study: StudyDetail; seriesUid: string }) {
  const t = useT();
  const axial = useRef<HTMLDivElement>(null);
  const sagittal = useRef<HTMLDivElement>(null);
  const coronal = useRef<HTMLDivElement>(null);
  const refs: Record<MprPlane, React.RefObject<HTMLDivElement | null>> = { axial, sagittal, coronal };
  const [state, setState] = useState<'loading' | 'ready' | 'failed'>('loading');
  const [mode, setMode] = useState<SlabMode>('mip');
  const [thickness, setThickness] = useState(0);
  const [extent, setExtent] = useState(0);
  const root = useRef<HTMLDivElement>(null);

  useEffect(() => {
    const els = { axial: axial.current, sagittal: sagittal.current, coronal: coronal.current };
    if (!els.axial || !els.sagittal || !els.coronal || !root.current) return;
    const elements = els as Record<MprPlane, HTMLDivElement>;
    let cancelled = false;
    const counters = MPR_PLANES.map((plane) => {
      const el = elements[plane];
      el.dataset.renders = '0';
      el.dataset.loaded = '0';
      const onRender = () => {
        el.dataset.renders = String(Number(el.dataset.renders ?? 0) + 1);
      };
      el.addEventListener(csCore.Enums.Events.IMAGE_RENDERED, onRender);
      return () => el.removeEventListener(csCore.Enums.Events.IMAGE_RENDERED, onRender);
    });
    const volumeId = volumeIdFor(seriesUid);
    const onLoaded = (e: Event) => {
      if ((e as CustomEvent<{ volumeId?: string }>).detail?.volumeId !== volumeId) return;
      markLoaded();
    };
    const markLoaded = () => {
      if (cancelled) return;
      setExtent(volumeExtent(seriesUid));
      // One render after the last slice arrived, then the state the tests wait on.
      for (const plane of MPR_PLANES) mprViewport(plane)?.render();
      requestAnimationFrame(() => {
        if (cancelled) return;
        for (const plane of MPR_PLANES) elements[plane].dataset.loaded = '1';
      });
    };
    csCore.eventTarget.addEventListener(csCore.Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, onLoaded);
    const ro = new ResizeObserver(() => resizeMpr());
    ro.observe(root.current);
    void (async () => {
      try {
        const entries = (await loadSeriesStack(study.study_instance_uid, seriesUid)).filter((e) => isImage(e.instance));
        if (cancelled) return;
        await openMpr(elements, seriesUid, entries.map((e) => e.imageId));
        if (cancelled) return;
        // Read by the browser test (e2e/mpr.mjs): where a point of the patient is drawn.
        (window as unknown as { __hfMpr?: object }).__hfMpr = {
          worldToCanvas: (plane: MprPlane, point: [number, number, number]) => mprViewport(plane)?.worldToCanvas(point) ?? null,
          slab: (plane: MprPlane) => mprViewport(plane)?.getSlabThickness() ?? null,
          debug: () => {
            const v = csCore.cache.getVolume(volumeId) as unknown as Record<string, unknown> | undefined;
            return {
              cpu: csCore.getShouldUseCPURendering(),
              loadStatus: v?.loadStatus,
              framesProcessed: v?.framesProcessed,
              totalNumFrames: v?.totalNumFrames,
              dimensions: v?.dimensions,
              spacing: v?.spacing,
              viewports: MPR_PLANES.map((p) => {
                const vp = mprViewport(p);
                return { plane: p, actors: vp?.getActors().length, props: vp?.getProperties(), camera: vp?.getCamera(), renders: elements[p].dataset.renders };
              }),
            };
          },
        };
        setState('ready');
        const volume = csCore.cache.getVolume(volumeId) as unknown as { loadStatus?: { loaded?: boolean } } | undefined;
        if (volume?.loadStatus?.loaded) markLoaded(); // cached from an earlier visit
      } catch {
        if (!cancelled) setState('failed');
      }
    })();
    return () => {
      cancelled = true;
      ro.disconnect();
      csCore.eventTarget.removeEventListener(csCore.Enums.Events.IMAGE_VOLUME_LOADING_COMPLETED, onLoaded);
      for (const off of counters) off();
      closeMpr();
    };
  }, [seriesUid, study.study_instance_uid]);

  useEffect(() => {
    if (state === 'ready') setSlab(mode, thickness);
  }, [state, mode, thickness]);

  return (
    <div ref={root} className="absolute inset-0 z-10 flex flex-col bg-neutral-950" data-testid="mpr-view" data-state={state}>
      <div className="flex flex-wrap items-center gap-2 border-b border-neutral-800 px-2 py-1 text-xs text-neutral-300" data-testid="mpr-toolbar">
        <label className="flex items-center gap-1">
          {t('viewer.mpr.mode')}
          <select
            value={mode}
            onChange={(e) => setMode(e.target.value as SlabMode)}
            className="rounded bg-neutral-800 px-1 text-neutral-200"
            data-testid="mpr-slab-mode"
          >
            {SLAB_MODES.map((m) => (
              <option key={m} value={m}>
                {t(`viewer.mpr.modes.${m}`)}
              </option>
            ))}
          </select>
        </label>
        <label className="flex items-center gap-1">
          {t('viewer.mpr.slab')}
          <input
            type="number"
            min={0}
            max={extent || undefined}
            step={1}
            value={thickness}
            onChange={(e) => setThickness(clampSlab(Number(e.target.value), extent || 1000))}
            className="w-16 rounded bg-neutral-800 px-1 text-neutral-200"
            data-testid="mpr-slab-thickness"
          />
        </label>
        <span className="text-neutral-500">{t('viewer.mpr.crosshairsHint')}</span>
        {state === 'loading' && <span className="text-neutral-400">{t('viewer.mpr.loading')}</span>}
        {state === 'failed' && (
          <span className="text-red-400" role="alert">
            {t('viewer.mpr.failed')}
          </span>
        )}
      </div>
      <div className="grid min-h-0 flex-1 grid-cols-3 gap-px bg-neutral-900">
        {MPR_PLANES.map((plane) => (
          <div key={plane} className="relative min-h-0 min-w-0 overflow-hidden border border-neutral-800" data-testid={`mpr-pane-${plane}`}>
            <div ref={refs[plane]} className="absolute inset-0" data-testid={`mpr-element-${plane}`} onContextMenu={(e) => e.preventDefault()} />
            {/* Whose images these are, on every pane. Text nodes only. */}
            <div className="pointer-events-none absolute inset-0 select-none text-[12px] leading-tight text-yellow-100 [text-shadow:0_0_2px_#000]">
              <div className="absolute top-1 left-2" data-testid={`mpr-patient-${plane}`}>
                <div className="text-[13px] font-semibold">{formatPersonName(study.patient_name)}</div>
                <div>
                  {t('viewer.overlay.id')}: {study.patient_id}
                </div>
              </div>
              <div className="absolute top-1 right-2 font-semibold">{t(`viewer.mpr.planes.${plane}`)}</div>
            </div>
          </div>
        ))}
      </div>
    </div>
  );
}
