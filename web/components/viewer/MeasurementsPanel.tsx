'use client';

import { useEffect, useState } from 'react';
import { useT } from '@/lib/i18n';
import { csCore, csTools, engine, MEASUREMENT_TOOLS, TOOL } from '@/lib/viewer/cornerstone';

interface Row {
  uid: string;
  tool: string;
  value: string;
}

type Stats = Record<string, number | string | undefined>;

/** One line per measurement, from the tool's cached statistics. */
export function describeMeasurement(tool: string, stats: Stats | undefined, text: string | undefined): string {
  const num = (v: unknown, digits = 1) => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(digits) : '-');
  if (tool === TOOL.arrow) return text ?? '';
  if (!stats) return '';
  if (tool === TOOL.length) return `${num(stats.length)} ${stats.unit ?? 'mm'}`;
  if (tool === TOOL.angle) return `${num(stats.angle)}°`;
  const unit = stats.modalityUnit ?? '';
  return `${num(stats.mean)} ± ${num(stats.stdDev)} ${unit} · ${num(stats.area)} ${stats.areaUnit ?? ''}`.trim();
}

function collect(): Row[] {
  const all = csTools.annotation.state.getAllAnnotations();
  return all
    .filter((a) => MEASUREMENT_TOOLS.includes(a.metadata?.toolName ?? ''))
    .map((a) => {
      const tool = a.metadata?.toolName ?? '';
      const data = a.data as { cachedStats?: Record<string, Stats>; text?: string };
      const stats = data.cachedStats ? Object.values(data.cachedStats)[0] : undefined;
      return { uid: a.annotationUID ?? '', tool, value: describeMeasurement(tool, stats, data.text) };
    });
}

export function MeasurementsPanel() {
  const t = useT();
  const [rows, setRows] = useState<Row[]>([]);

  useEffect(() => {
    const E = csTools.Enums.Events;
    const events = [E.ANNOTATION_COMPLETED, E.ANNOTATION_MODIFIED, E.ANNOTATION_REMOVED, E.ANNOTATION_ADDED];
    let frame = 0;
    const refresh = () => {
      cancelAnimationFrame(frame);
      frame = requestAnimationFrame(() => setRows(collect()));
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
    setRows(collect());
  };

  return (
    <section>
      <h2 className="mb-1 text-xs font-semibold tracking-wide text-neutral-400 uppercase">
        {t('viewer.measurements.title')}
      </h2>
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
