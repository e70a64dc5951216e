'use client';

import { useCallback, useEffect, useState, type RefObject } from 'react';
import { findingsOn, outline, overlayText, STATUS_COLOUR, useAiOverlay, type OverlayFinding } from '@/lib/ai/overlay';
import { useT } from '@/lib/i18n';
import { csCore, engine } from '@/lib/viewer/cornerstone';

interface Shape {
  finding: OverlayFinding;
  points: [number, number][];
}

/** The findings of the image on screen, in canvas pixels (zoom, pan, rotation and flips included). */
function shapesOf(viewportId: string, findings: OverlayFinding[]): Shape[] {
  let vp: csCore.Types.IViewport | undefined;
  try {
    vp = engine().getViewport(viewportId);
  } catch {
    return [];
  }
  if (!(vp instanceof csCore.StackViewport)) return [];
  const imageId = vp.getCurrentImageId();
  const shapes: Shape[] = [];
  for (const finding of findingsOn(findings, imageId)) {
    const points: [number, number][] = [];
    for (const p of outline(finding)) {
      const world = csCore.utilities.imageToWorldCoords(imageId, p);
      if (!world) return shapes;
      const c = vp.worldToCanvas(world);
      points.push([c[0], c[1]]);
    }
    shapes.push({ finding, points });
  }
  return shapes;
}

/**
 * AI findings drawn over one viewport as an SVG layer: outlines coloured by review state,
 * "AI 建议" on the unreviewed ones. Redrawn on every render of the viewport.
 */
export function AiOverlay({ viewportId, element, index }: { viewportId: string; element: RefObject<HTMLDivElement | null>; index: number }) {
  const t = useT();
  const { visible, findings, selected } = useAiOverlay();
  const [shapes, setShapes] = useState<Shape[]>([]);
  // No state change while there is nothing to draw (cine renders many frames a second).
  const update = useCallback(() => {
    const next = visible ? shapesOf(viewportId, findings) : [];
    setShapes((prev) => (next.length === 0 && prev.length === 0 ? prev : next));
  }, [viewportId, findings, visible]);

  useEffect(() => {
    const el = element.current;
    update();
    if (!el || !visible || findings.length === 0) return;
    el.addEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
    return () => el.removeEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
  }, [element, update, visible, findings.length]);

  if (shapes.length === 0) return null;
  return (
    <svg className="pointer-events-none absolute inset-0 right-4 h-full w-[calc(100%-1rem)]" data-testid={`ai-overlay-${index}`} data-shapes={shapes.length}>
      {shapes.map(({ finding, points }) => {
        const colour = STATUS_COLOUR[finding.status];
        const top = points.reduce((a, p) => (p[1] < a[1] ? p : a), points[0]);
        const text = overlayText(finding, t('ai.suggestion'));
        return (
          <g key={finding.id} data-testid="ai-shape" data-status={finding.status}>
            <polygon
              points={points.map((p) => p.join(',')).join(' ')}
              fill="none"
              stroke={colour}
              strokeWidth={finding.id === selected ? 3 : 2}
              strokeDasharray={finding.status === 'suggestion' ? '6 3' : undefined}
            />
            <text x={top[0]} y={Math.max(12, top[1] - 4)} fill={colour} fontSize={12} style={{ paintOrder: 'stroke' }} stroke="#000" strokeWidth={2}>
              {text}
            </text>
          </g>
        );
      })}
    </svg>
  );
}
