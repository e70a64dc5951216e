'use client';

import { useEffect, useRef, useState } from 'react';
import { useT, type TFunction } from '@/lib/i18n';
import { calibrationFor, csCore, csTools, engine, MEASUREMENT_TOOLS, TOOL } from '@/lib/viewer/cornerstone';
import { measurementSummary } from '@/lib/viewer/measurementText';
import type { SavedMeasurements } from './useSavedMeasurements';

interface Row {
  uid: string;
  tool: string;
  value: string;
}

type Stats = Record<string, unknown>;

/** One line per measurement: the same words as on the image, joined. */
function collect(t: TFunction): Row[] {
  const all = csTools.annotation.state.getAllAnnotations();
  return all
    .filter((a) => MEASUREMENT_TOOLS.includes(a.metadata?.toolName ?? ''))
    .map((a) => {
      const tool = a.metadata?.toolName ?? '';
      const data = a.data as { cachedStats?: Record<string, Stats>; label?: string };
      if (tool === TOOL.arrow) return { uid: a.annotationUID ?? '', tool, value: data.label ?? '' };
      const stats = data.cachedStats ? Object.values(data.cachedStats)[0] : undefined;
      const value = measurementSummary(tool, stats, calibrationFor(a.metadata?.referencedImageId), t);
      return { uid: a.annotationUID ?? '', tool, value };
    });
}

export function MeasurementsPanel({ saved }: { saved: SavedMeasurements }) {
  const t = useT();
  const [rows, setRows] = useState<Row[]>([]);
  const tRef = useRef(t);
  tRef.current = t;

  useEffect(() => {
    const E = csTools.Enums.Events;
    const events = [E.ANNOTATION_COMPLETED, E.ANNOTATION_MODIFIED, E.ANNOTATION_REMOVED, E.ANNOTATION_ADDED];
    let frame = 0;
    const refresh = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setRows(collect(tRef.current)));
    };
    for (const e of events) csCore.eventTarget.addEventListener(e, refresh);
    refresh();
    return () => {
      cancelAnimationFrame(frame);
      for (const e of events) csCore.eventTarget.removeEventListener(e, refresh);
    };
  }, []);

  const remove = (uid: string) => {
    csTools.annotation.state.removeAnnotation(uid);
    engine().render();
    setRows(collect(t));
  };

  return (
    <section>
      <div className="mb-1 flex items-center gap-2">
        <h2 className="text-xs font-semibold tracking-wide text-neutral-400 uppercase">{t('viewer.measurements.title')}</h2>
        <span className="flex-1 truncate text-[11px] text-neutral-500" data-testid="measurements-state" data-state={saved.state}>
          {saved.state === 'dirty' && t('viewer.measurements.unsaved')}
          {saved.state === 'saving' && t('viewer.measurements.saving')}
          {saved.state === 'error' && <span className="text-red-400">{t('viewer.measurements.saveFailed')}</span>}
          {saved.state === 'clean' && saved.observer && t('viewer.measurements.savedBy', { name: saved.observer })}
        </span>
        <button
          type="button"
          onClick={saved.save}
          disabled={saved.state === 'loading' || saved.state === 'saving'}
          data-testid="measurements-save"
          className="rounded bg-sky-800 px-1.5 py-0.5 text-[11px] text-white hover:bg-sky-700 disabled:opacity-50"
        >
          {t('viewer.measurements.save')}
        </button>
      </div>
      {rows.length === 0 ? (
        <p className="text-xs text-neutral-500">{t('viewer.measurements.empty')}</p>
      ) : (
        <ul className="space-y-1" data-testid="measurement-list">
          {rows.map((r) => (
            <li key={r.uid} data-testid="measurement" data-tool={r.tool} className="flex items-center gap-2 text-xs">
              <span className="w-16 shrink-0 text-neutral-400">{t(`viewer.tools.${r.tool}`)}</span>
              <span className="flex-1 tabular-nums">{r.value}</span>
              <button
                type="button"
                onClick={() => remove(r.uid)}
                aria-label={t('viewer.measurements.delete')}
                data-testid="measurement-delete"
                className="rounded px-1 text-neutral-400 hover:bg-neutral-800 hover:text-red-400"
              >
                ✕
              </button>
            </li>
          ))}
        </ul>
      )}
    </section>
  );
}
