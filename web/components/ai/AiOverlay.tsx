'use client';

import { useCallback, useEffect, useRef, useState, type PointerEvent as ReactPointerEvent, type RefObject } from 'react';
import {
  dragged,
  findingsOn,
  imageRef,
  outline,
  overlayText,
  STATUS_COLOUR,
  useAiOverlay,
  withDraft,
  type GeometryDraft,
  type OverlayFinding,
} from '@/lib/ai/overlay';
import { useFindingMasks, type FindingMask } from '@/lib/ai/queries';
import { useT } from '@/lib/i18n';
import { csCore, engine } from '@/lib/viewer/cornerstone';

interface Shape {
  finding: OverlayFinding;
  points: [number, number][];
}

/** A mask laid over the viewport: its runs on this image and the image → canvas matrix. */
interface MaskLayer {
  id: string;
  colour: string;
  columns: number;
  rows: number;
  runs: number[];
  matrix: string;
}

function stackViewport(viewportId: string): csCore.StackViewport | null {
  try {
    const vp = engine().getViewport(viewportId);
    return vp instanceof csCore.StackViewport ? vp : null;
  } catch {
    return null;
  }
}

/** Image pixel edges (column, row) → canvas pixels; Cornerstone puts pixel centres on whole numbers. */
function toCanvas(vp: csCore.StackViewport, imageId: string, x: number, y: number): [number, number] | null {
  const world = csCore.utilities.imageToWorldCoords(imageId, [x - 0.5, y - 0.5]);
  if (!world) return null;
  const c = vp.worldToCanvas(world);
  return [c[0], c[1]];
}

/** Canvas pixels → image pixel edges (column, row). */
function toImage(vp: csCore.StackViewport, imageId: string, cx: number, cy: number): [number, number] | null {
  const p = csCore.utilities.worldToImageCoords(imageId, vp.canvasToWorld([cx, cy]));
  return p ? [p[0] + 0.5, p[1] + 0.5] : null;
}

/** The findings of the image on screen, in canvas pixels (zoom, pan, rotation and flips included). */
function shapesOf(vp: csCore.StackViewport, imageId: string, findings: OverlayFinding[]): Shape[] {
  const shapes: Shape[] = [];
  for (const finding of findingsOn(findings, imageId)) {
    const points: [number, number][] = [];
    for (const p of outline(finding)) {
      const c = toCanvas(vp, imageId, p[0] + 0.5, p[1] + 0.5);
      if (!c) return shapes;
      points.push(c);
    }
    shapes.push({ finding, points });
  }
  return shapes;
}

/** The masks on the image on screen, each with the CSS matrix from mask pixels to canvas pixels. */
function masksOf(vp: csCore.StackViewport, imageId: string, findings: OverlayFinding[], masks: Map<string, FindingMask>): MaskLayer[] {
  const ref = imageRef(imageId);
  if (!ref) return [];
  const out: MaskLayer[] = [];
  for (const f of findings) {
    const mask = masks.get(f.id);
    const slice = mask?.slices.find((s) => s.sop_instance_uid === ref.sopInstanceUid && s.frame === ref.frame);
    if (!mask || !slice) continue;
    const o = toCanvas(vp, imageId, 0, 0);
    const a = toCanvas(vp, imageId, mask.columns, 0);
    const b = toCanvas(vp, imageId, 0, mask.rows);
    if (!o || !a || !b) continue;
    const m = [(a[0] - o[0]) / mask.columns, (a[1] - o[1]) / mask.columns, (b[0] - o[0]) / mask.rows, (b[1] - o[1]) / mask.rows, o[0], o[1]];
    out.push({ id: f.id, colour: STATUS_COLOUR[f.status], columns: mask.columns, rows: mask.rows, runs: slice.runs, matrix: `matrix(${m.join(',')})` });
  }
  return out;
}

/** One segment's pixels on this image, filled in the finding's colour (semi-transparent). */
function MaskCanvas({ layer }: { layer: MaskLayer }) {
  const ref = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    const ctx = ref.current?.getContext('2d');
    if (!ctx) return;
    ctx.clearRect(0, 0, layer.columns, layer.rows);
    ctx.fillStyle = layer.colour;
    for (let i = 0; i + 2 < layer.runs.length; i += 3) ctx.fillRect(layer.runs[i + 1], layer.runs[i], layer.runs[i + 2], 1);
  }, [layer.runs, layer.colour, layer.columns, layer.rows]);
  return (
    <canvas
      ref={ref}
      width={layer.columns}
      height={layer.rows}
      data-testid="ai-mask"
      data-finding-id={layer.id}
      className="absolute top-0 left-0 opacity-40"
      style={{ transform: layer.matrix, transformOrigin: '0 0', imageRendering: 'pixelated' }}
    />
  );
}

interface Drag {
  handle: number;
  start: [number, number];
  draft: GeometryDraft;
  columns: number;
  rows: number;
}

/**
 * AI findings drawn over one viewport: segmentation masks as a semi-transparent fill, and an
 * SVG layer of outlines coloured by review state, "AI 建议" on the unreviewed ones. Redrawn
 * on every render of the viewport. The finding being adjusted has handles: its box corners or
 * contour vertices drag, its inside moves it (image coordinates through Cornerstone's
 * canvasToWorld / worldToImageCoords).
 */
export function AiOverlay({ viewportId, element, index }: { viewportId: string; element: RefObject<HTMLDivElement | null>; index: number }) {
  const t = useT();
  const { visible, findings, selected, editing, setEditing } = useAiOverlay();
  const masks = useFindingMasks(visible ? findings.filter((f) => f.mask).map((f) => f.id) : []);
  const [shapes, setShapes] = useState<Shape[]>([]);
  const [layers, setLayers] = useState<MaskLayer[]>([]);
  const svg = useRef<SVGSVGElement>(null);
  const drag = useRef<Drag | null>(null);
  // No state change while there is nothing to draw (cine renders many frames a second).
  const update = useCallback(() => {
    const vp = visible ? stackViewport(viewportId) : null;
    const imageId = vp?.getCurrentImageId();
    const drawn = findings.map((f) => withDraft(f, editing));
    const next = vp && imageId ? shapesOf(vp, imageId, drawn) : [];
    const nextLayers = vp && imageId && masks.size ? masksOf(vp, imageId, findings, masks) : [];
    setShapes((prev) => (next.length === 0 && prev.length === 0 ? prev : next));
    setLayers((prev) => (nextLayers.length === 0 && prev.length === 0 ? prev : nextLayers));
  }, [viewportId, findings, visible, editing, masks]);

  useEffect(() => {
    const el = element.current;
    update();
    if (!el || !visible || findings.length === 0) return;
    el.addEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
    return () => el.removeEventListener(csCore.Enums.Events.IMAGE_RENDERED, update);
  }, [element, update, visible, findings.length]);

  const pointAt = (e: ReactPointerEvent): [number, number] | null => {
    const vp = stackViewport(viewportId);
    const imageId = vp?.getCurrentImageId();
    const rect = svg.current?.getBoundingClientRect();
    if (!vp || !imageId || !rect) return null;
    return toImage(vp, imageId, e.clientX - rect.left, e.clientY - rect.top);
  };
  const onDown = (handle: number) => (e: ReactPointerEvent) => {
    const vp = stackViewport(viewportId);
    const image = vp?.getCornerstoneImage();
    const at = pointAt(e);
    if (!editing || !image || !at) return;
    e.stopPropagation();
    e.preventDefault();
    (e.currentTarget as Element).setPointerCapture(e.pointerId);
    drag.current = { handle, start: at, draft: editing, columns: image.columns, rows: image.rows };
  };
  const onMove = (e: ReactPointerEvent) => {
    const d = drag.current;
    const at = d && pointAt(e);
    if (!d || !at) return;
    e.stopPropagation();
    setEditing(dragged(d.draft, d.handle, at, [at[0] - d.start[0], at[1] - d.start[1]], d.columns, d.rows));
  };
  const onUp = (e: ReactPointerEvent) => {
    if (!drag.current) return;
    drag.current = null;
    (e.currentTarget as Element).releasePointerCapture(e.pointerId);
  };
  const handlers = { onPointerMove: onMove, onPointerUp: onUp, onPointerCancel: onUp };

  if (shapes.length === 0 && layers.length === 0) return null;
  return (
    <>
      {layers.length > 0 && (
        <div className="pointer-events-none absolute inset-0 right-4 overflow-hidden" data-testid={`ai-masks-${index}`} data-masks={layers.length}>
          {layers.map((layer) => (
            <MaskCanvas key={layer.id} layer={layer} />
          ))}
        </div>
      )}
      <svg ref={svg} className="pointer-events-none absolute inset-0 right-4 h-full w-[calc(100%-1rem)]" data-testid={`ai-overlay-${index}`} data-shapes={shapes.length}>
        {shapes.map(({ finding, points }) => {
          const colour = STATUS_COLOUR[finding.status];
          const top = points.reduce((a, p) => (p[1] < a[1] ? p : a), points[0]);
          const text = overlayText(finding, t('ai.suggestion'));
          const adjusting = editing?.id === finding.id;
          return (
            <g key={finding.id} data-testid="ai-shape" data-status={finding.status} data-finding-id={finding.id} data-points={points.map((p) => p.map((v) => v.toFixed(1)).join(',')).join(' ')}>
              <polygon
                points={points.map((p) => p.join(',')).join(' ')}
                fill="none"
                stroke={colour}
                strokeWidth={finding.id === selected || adjusting ? 3 : 2}
                strokeDasharray={finding.status === 'suggestion' && !adjusting ? '6 3' : undefined}
                style={adjusting ? { pointerEvents: 'all', cursor: 'move' } : undefined}
                data-testid={adjusting ? 'ai-geometry-body' : undefined}
                onPointerDown={adjusting ? onDown(-1) : undefined}
                {...(adjusting ? handlers : {})}
              />
              <text x={top[0]} y={Math.max(12, top[1] - 4)} fill={colour} fontSize={12} style={{ paintOrder: 'stroke' }} stroke="#000" strokeWidth={2} data-testid="ai-shape-text">
                {text}
              </text>
              {adjusting &&
                points.map((p, i) => (
                  <circle
                    key={i}
                    cx={p[0]}
                    cy={p[1]}
                    r={6}
                    fill="#0ea5e9"
                    stroke="#fff"
                    strokeWidth={1.5}
                    style={{ pointerEvents: 'all', cursor: 'crosshair', touchAction: 'none' }}
                    data-testid="ai-handle"
                    data-handle={i}
                    onPointerDown={onDown(i)}
                    {...handlers}
                  />
                ))}
            </g>
          );
        })}
      </svg>
    </>
  );
}
