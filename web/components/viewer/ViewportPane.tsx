'use client';

import { useEffect, useRef, useState, type DragEvent } from 'react';
import { AiOverlay } from '@/components/ai/AiOverlay';
import type { StudyDetail } from '@/lib/api/types';
import { ageAt, displayDate } from '@/lib/dates';
import { formatPersonName } from '@/lib/dicom/personName';
import { useT } from '@/lib/i18n';
import { csCore, csTools, engine, scheduleResize, toolGroup } from '@/lib/viewer/cornerstone';
import { tagNumber, tagString, TAG, type DicomJson, type StackEntry } from '@/lib/viewer/imageIds';
import { isImage, objectKind, srLines, type ObjectKind } from '@/lib/viewer/objects';
import { edgeMarkers, type Vec3 } from '@/lib/viewer/orientation';
import { windowFromRange } from '@/lib/viewer/presets';
import { loadSeriesStack } from '@/lib/viewer/series';

export const SERIES_DRAG_TYPE = 'application/x-hf-series';

interface OverlayState {
  index: number;
  count: number;
  instanceNumber: number | null;
  frame: number;
  frames: number;
  seriesNumber: string | null;
  seriesDescription: string | null;
  window: { width: number; center: number } | null;
  zoom: number;
  markers: { left: string; right: string; top: string; bottom: string } | null;
}

export function viewportId(index: number): string {
  return `hf-vp-${index}`;
}

export function stackViewport(index: number): csCore.StackViewport | null {
  try {
    const vp = engine().getViewport(viewportId(index));
    return vp instanceof csCore.StackViewport ? vp : null;
  } catch {
    return null;
  }
}

function sub(a: csCore.Types.Point3, b: csCore.Types.Point3): Vec3 {
  return [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
}

export function ViewportPane({
  index,
  study,
  seriesUid,
  active,
  onActivate,
  onDropSeries,
}: {
  index: number;
  study: StudyDetail;
  seriesUid: string | null;
  active: boolean;
  onActivate: () => void;
  onDropSeries: (seriesUid: string) => void;
}) {
  const t = useT();
  const element = useRef<HTMLDivElement>(null);
  const stack = useRef<StackEntry[]>([]);
  const [overlay, setOverlay] = useState<OverlayState | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [loading, setLoading] = useState(false);
  const [objects, setObjects] = useState<{ kind: ObjectKind; instances: DicomJson[] } | null>(null);
  const id = viewportId(index);

  // Enable the element for the life of the pane.
  useEffect(() => {
    const el = element.current;
    if (!el) return;
    engine().enableElement({
      viewportId: id,
      type: csCore.Enums.ViewportType.STACK,
      element: el,
      defaultOptions: { background: [0, 0, 0] },
    });
    toolGroup().addViewport(id, engine().id);
    // Every pane follows its own size (layout, side panel, window): a canvas drawn at its old
    // size but shown at a new one distorts the image.
    const ro = new ResizeObserver(() => scheduleResize());
    ro.observe(el);
    return () => {
      ro.disconnect();
      try {
        csTools.utilities.cine.stopClip(el);
        toolGroup().removeViewports(engine().id, id);
        engine().disableElement(id);
      } catch {
        /* engine already destroyed */
      }
    };
  }, [id]);

  // Overlay values follow every render (scroll, W/L, zoom, rotation...).
  useEffect(() => {
    const el = element.current;
    if (!el) return;
    const update = () => {
      const vp = stackViewport(index);
      const entries = stack.current;
      if (!vp || entries.length === 0) return;
      const i = vp.getCurrentImageIdIndex();
      const entry = entries[i];
      if (!entry) return;
      const props = vp.getProperties();
      const w = el.clientWidth;
      const h = el.clientHeight;
      let markers: OverlayState['markers'] = null;
      let zoom = vp.getZoom();
      try {
        const right = sub(vp.canvasToWorld([w, h / 2]), vp.canvasToWorld([0, h / 2]));
        const up = sub(vp.canvasToWorld([w / 2, 0]), vp.canvasToWorld([w / 2, h]));
        markers = entry.instance[TAG.ImageOrientationPatient] ? edgeMarkers(right, up) : null;
        // Zoom as screen pixels per image pixel (100% = 1:1), the same on both render paths.
        const plane = csCore.metaData.get('imagePlaneModule', entry.imageId) as
          | { columnPixelSpacing?: number | null }
          | undefined;
        const mmPerScreenPixel = Math.hypot(...right) / Math.max(1, w);
        if (mmPerScreenPixel > 0) zoom = (plane?.columnPixelSpacing || 1) / mmPerScreenPixel;
      } catch {
        markers = null;
      }
      el.dataset.imageIndex = String(i);
      el.dataset.imageCount = String(entries.length);
      if (el.dataset.rendered !== '1') {
        el.dataset.rendered = '1';
        // For bench/viewer_bench.mjs: when the first image of a series was drawn.
        performance.mark(`hf:first-image:${index}`);
      }
      setOverlay({
        index: i,
        count: entries.length,
        instanceNumber: tagNumber(entry.instance, TAG.InstanceNumber),
        frame: entry.frame,
        frames: tagNumber(entry.instance, TAG.NumberOfFrames) ?? 1,
        seriesNumber: tagString(entry.instance, '00200011'),
        seriesDescription: tagString(entry.instance, '0008103E'),
        window: props.voiRange ? windowFromRange(props.voiRange) : null,
        zoom,
        markers,
      });
    };
    el.addEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
    return () => el.removeEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
  }, [index]);

  // Double tap fits the image again (after a pinch or a pan), like F on a keyboard.
  useEffect(() => {
    const el = element.current;
    if (!el) return;
    const onTap = (e: Event) => {
      if ((e as CustomEvent<{ taps?: number }>).detail?.taps !== 2) return;
      const vp = stackViewport(index);
      if (!vp) return;
      vp.resetCamera({ resetPan: true, resetZoom: true, resetToCenter: true });
      vp.render();
    };
    el.addEventListener(csTools.Enums.Events.TOUCH_TAP, onTap);
    return () => el.removeEventListener(csTools.Enums.Events.TOUCH_TAP, onTap);
  }, [index]);

  // Load the series: metadata in one request, then the first image; the rest is prefetched.
  useEffect(() => {
    const el = element.current;
    if (!el || !seriesUid) return;
    let cancelled = false;
    setLoading(true);
    setError(null);
    setObjects(null);
    el.dataset.rendered = '0';
    void (async () => {
      try {
        const all = await loadSeriesStack(study.study_instance_uid, seriesUid);
        if (cancelled) return;
        const vp = stackViewport(index);
        if (!vp) return;
        csTools.utilities.cine.stopClip(el);
        const entries = all.filter((e) => isImage(e.instance));
        stack.current = entries;
        if (entries.length === 0) {
          // A report, a plan...: say what it is instead of failing to load pixels.
          const instances = [...new Set(all.map((e) => e.instance))];
          setOverlay(null);
          setObjects({ kind: instances[0] ? objectKind(instances[0]) : 'other', instances });
          return;
        }
        await vp.setStack(
          entries.map((e) => e.imageId),
          0,
        );
        if (cancelled) return;
        vp.render();
        csTools.utilities.stackPrefetch.enable(el);
      } catch (err) {
        if (!cancelled) setError(err instanceof Error ? err.message : String(err));
      } finally {
        if (!cancelled) setLoading(false);
      }
    })();
    return () => {
      cancelled = true;
    };
  }, [seriesUid, study.study_instance_uid, index]);

  const onDrop = (e: DragEvent) => {
    const uid = e.dataTransfer.getData(SERIES_DRAG_TYPE);
    if (uid) {
      e.preventDefault();
      onDropSeries(uid);
    }
  };

  const scrollTo = (n: number) => {
    const vp = stackViewport(index);
    if (vp) void vp.setImageIdIndex(n);
  };

  const sexAge = [study.patient_sex, ageAt(study.patient_birth_date, study.study_date)].filter(Boolean).join(' ');
  const o = overlay;

  return (
    <div
      className={`relative min-h-0 min-w-0 overflow-hidden border ${active ? 'border-sky-500' : 'border-neutral-800'}`}
      onMouseDown={onActivate}
      onTouchStart={onActivate}
      onWheel={onActivate}
      onDragOver={(e) => {
        if (e.dataTransfer.types.includes(SERIES_DRAG_TYPE)) e.preventDefault();
      }}
      onDrop={onDrop}
      data-testid={`viewport-${index}`}
    >
      <div
        ref={element}
        className="absolute inset-0 right-4"
        data-testid={`viewport-element-${index}`}
        data-pane={index}
        onContextMenu={(e) => e.preventDefault()}
      />
      <AiOverlay viewportId={id} element={element} index={index} />
      {/* Overlays: never any doubt whose images these are. Text nodes only (no HTML from DICOM). */}
      <div className="pointer-events-none absolute inset-0 right-4 select-none text-[12px] leading-tight text-yellow-100 [text-shadow:0_0_2px_#000]">
        <div className="absolute top-1 left-2" data-testid={`overlay-patient-${index}`}>
          <div className="text-[13px] font-semibold">{formatPersonName(study.patient_name)}</div>
          <div>
            {t('viewer.overlay.id')}: {study.patient_id}
          </div>
          {sexAge && <div>{sexAge}</div>}
        </div>
        <div className="absolute top-1 right-2 text-right">
          <div>{displayDate(study.study_date)}</div>
          {o && (
            <>
              <div>
                {t('viewer.overlay.series')}: {o.seriesNumber ?? '-'}
                {o.seriesDescription ? ` ${o.seriesDescription}` : ''}
              </div>
              <div data-testid={`overlay-image-${index}`}>
                {t('viewer.overlay.image')}: {o.instanceNumber ?? '-'} ({o.index + 1}/{o.count})
                {o.frames > 1 ? ` ${t('viewer.overlay.frame')} ${o.frame}/${o.frames}` : ''}
              </div>
            </>
          )}
        </div>
        {o && (
          <div className="absolute bottom-1 left-2" data-testid={`overlay-wl-${index}`}>
            {o.window && (
              <div>
                W: {Math.round(o.window.width)} L: {Math.round(o.window.center)}
              </div>
            )}
            <div>
              {t('viewer.overlay.zoom')}: {Math.round(o.zoom * 100)}%
            </div>
          </div>
        )}
        {o?.markers && (
          <>
            <div className="absolute top-1/2 left-1 -translate-y-1/2 text-sm font-semibold">{o.markers.left}</div>
            <div className="absolute top-1/2 right-1 -translate-y-1/2 text-sm font-semibold">{o.markers.right}</div>
            <div className="absolute top-1 left-1/2 -translate-x-1/2 text-sm font-semibold">{o.markers.top}</div>
            <div className="absolute bottom-1 left-1/2 -translate-x-1/2 text-sm font-semibold">{o.markers.bottom}</div>
          </>
        )}
        {!seriesUid && (
          <div className="absolute inset-0 flex items-center justify-center text-neutral-500">
            {t('viewer.dropHere')}
          </div>
        )}
        {objects && <NonImageObjects index={index} kind={objects.kind} instances={objects.instances} />}
        {loading && <div className="absolute bottom-1 right-2 text-neutral-400">{t('common.loading')}</div>}
        {error && (
          <div className="absolute inset-0 flex items-center justify-center text-red-400" role="alert">
            {t('viewer.loadFailed')}
          </div>
        )}
      </div>
      {o && o.count > 1 && (
        <input
          type="range"
          aria-label={t('viewer.scrollbar')}
          data-testid={`scrollbar-${index}`}
          min={0}
          max={o.count - 1}
          value={o.index}
          onChange={(e) => scrollTo(Number(e.target.value))}
          className="absolute top-0 right-0 h-full w-4 [direction:ltr] [writing-mode:vertical-lr]"
        />
      )}
    </div>
  );
}

/** What a non-image series holds; for structured reports, their text. Text nodes only. */
function NonImageObjects({ index, kind, instances }: { index: number; kind: ObjectKind; instances: DicomJson[] }) {
  const t = useT();
  return (
    <div
      className="pointer-events-auto absolute inset-0 overflow-y-auto bg-neutral-950 p-4 text-sm text-neutral-200 [text-shadow:none] select-text"
      data-testid={`non-image-${index}`}
      data-kind={kind}
    >
      <h3 className="mb-1 text-base font-semibold">{t(`viewer.objects.${kind}`)}</h3>
      <p className="mb-3 text-xs text-neutral-400">{t('viewer.objects.notImage', { n: instances.length })}</p>
      {kind === 'sr' &&
        instances.map((ds) => (
          <ul key={tagString(ds, TAG.SOPInstanceUID) ?? ''} className="mb-4 space-y-0.5" data-testid={`sr-text-${index}`}>
            {srLines(ds).map((line, i) => (
              <li key={i} style={{ paddingLeft: `${line.depth}rem` }}>
                {line.name && <span className={line.value ? 'text-neutral-400' : 'font-semibold'}>{line.name}{line.value ? ': ' : ''}</span>}
                {line.value && <span className="whitespace-pre-wrap">{line.value}</span>}
              </li>
            ))}
          </ul>
        ))}
    </div>
  );
}
