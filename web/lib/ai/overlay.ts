/**
 * AI findings drawn on the images: which findings belong to the image on screen, and their
 * outlines in image pixel coordinates. The store is shared by the viewer's AI panel (which
 * fills it) and every viewport's overlay layer (which draws it).
 */
import { create } from 'zustand';
import { shownLabel } from './applicable';
import type { AiFinding, AiFindingStatus } from './types';

export interface OverlayFinding {
  id: string;
  label: string;
  status: AiFindingStatus;
  sopInstanceUid: string;
  frame: number;
  /** [x0, y0, x1, y1]: pixel edges (column, row), as the API gives them. */
  bbox: number[] | null;
  /** [[x, y], ...] pixel edges. */
  contour: number[][] | null;
  /** The AI's segmentation mask (in the run's DICOM SEG) is drawn too. */
  mask: boolean;
  /** The finding's version (optimistic concurrency of a review). */
  version: number;
}

/** The geometry being dragged by a doctor (pixel edges), before it is saved. */
export interface GeometryDraft {
  id: string;
  bbox: number[] | null;
  contour: number[][] | null;
}

interface OverlayState {
  visible: boolean;
  findings: OverlayFinding[];
  selected: string | null;
  /** The finding whose geometry the doctor is dragging, with the dragged geometry. */
  editing: GeometryDraft | null;
  setVisible: (visible: boolean) => void;
  setFindings: (findings: OverlayFinding[]) => void;
  select: (id: string | null) => void;
  setEditing: (editing: GeometryDraft | null) => void;
}

export const useAiOverlay = create<OverlayState>((set) => ({
  visible: true,
  findings: [],
  selected: null,
  editing: null,
  setVisible: (visible) => set({ visible }),
  setFindings: (findings) => set({ findings }),
  select: (selected) => set({ selected }),
  setEditing: (editing) => set({ editing }),
}));

function numbers(v: unknown, length?: number): number[] | null {
  if (!Array.isArray(v) || v.some((x) => typeof x !== 'number' || !Number.isFinite(x))) return null;
  if (length !== undefined && v.length !== length) return null;
  return v as number[];
}

/** A finding's outline (the doctor's edited geometry wins); null when it has none (a class). */
export function overlayOf(f: AiFinding): OverlayFinding | null {
  if (!f.sop_instance_uid || f.status === 'rejected') return null;
  const g = (f.edited_geometry ?? f.geometry) as { bbox?: unknown; contour?: unknown };
  const mask = (f.geometry as { mask?: unknown }).mask === 'seg';
  const bbox = numbers(g.bbox, 4);
  const contour = Array.isArray(g.contour) ? g.contour.map((p) => numbers(p, 2)).filter((p): p is number[] => !!p) : [];
  if (!bbox && contour.length < 3) return null;
  return {
    id: f.id,
    label: shownLabel(f),
    status: f.status,
    sopInstanceUid: f.sop_instance_uid,
    frame: f.frame ?? 1,
    bbox,
    contour: contour.length >= 3 ? contour : null,
    mask,
    version: f.version,
  };
}

/** The finding as drawn: the doctor's draft geometry while it is being dragged. */
export function withDraft(f: OverlayFinding, draft: GeometryDraft | null): OverlayFinding {
  return draft && draft.id === f.id ? { ...f, bbox: draft.bbox, contour: draft.contour } : f;
}

/**
 * The draft after dragging handle `handle` (a box corner 0..3 in outline order, a contour
 * vertex, or -1: the whole shape by `delta`) to `to` (pixel edges), kept inside the image
 * of `columns` × `rows` pixels; a box stays at least one pixel wide and high.
 */
export function dragged(
  draft: GeometryDraft,
  handle: number,
  to: [number, number],
  delta: [number, number],
  columns: number,
  rows: number,
): GeometryDraft {
  const clamp = (v: number, hi: number) => Math.min(hi, Math.max(0, Math.round(v * 10) / 10));
  if (handle < 0) {
    const pts = draft.contour ?? (draft.bbox ? [[draft.bbox[0], draft.bbox[1]], [draft.bbox[2], draft.bbox[3]]] : []);
    const xs = pts.map((p) => p[0]);
    const ys = pts.map((p) => p[1]);
    // The whole shape moves, no further than the image's edges.
    const dx = Math.min(columns - Math.max(...xs), Math.max(-Math.min(...xs), delta[0]));
    const dy = Math.min(rows - Math.max(...ys), Math.max(-Math.min(...ys), delta[1]));
    const move = (p: number[]) => [clamp(p[0] + dx, columns), clamp(p[1] + dy, rows)];
    if (draft.contour) return { ...draft, contour: draft.contour.map(move) };
    const [a, b] = [move(pts[0]), move(pts[1])];
    return { ...draft, bbox: [a[0], a[1], b[0], b[1]] };
  }
  const x = clamp(to[0], columns);
  const y = clamp(to[1], rows);
  if (draft.contour) return { ...draft, contour: draft.contour.map((p, i) => (i === handle ? [x, y] : p)) };
  if (!draft.bbox) return draft;
  let [x0, y0, x1, y1] = draft.bbox;
  if (handle === 0 || handle === 3) x0 = Math.min(x, x1 - 1);
  else x1 = Math.max(x, x0 + 1);
  if (handle === 0 || handle === 1) y0 = Math.min(y, y1 - 1);
  else y1 = Math.max(y, y0 + 1);
  return { ...draft, bbox: [x0, y0, x1, y1] };
}

/**
 * The text beside an outline: the label the doctor sees (an edit's label wins), prefixed by
 * the "AI suggestion" word while nobody has reviewed it.
 */
export function overlayText(f: OverlayFinding, suggestionWord: string): string {
  return f.status === 'suggestion' ? `${suggestionWord}: ${f.label}` : f.label;
}

/** The instance and frame of a WADO-RS image id (`.../instances/<uid>/frames/<n>`). */
export function imageRef(imageId: string | undefined): { sopInstanceUid: string; frame: number } | null {
  const m = /\/instances\/([0-9.]+)\/frames\/(\d+)/.exec(imageId ?? '');
  return m ? { sopInstanceUid: m[1], frame: Number(m[2]) } : null;
}

export function findingsOn(findings: OverlayFinding[], imageId: string | undefined): OverlayFinding[] {
  const ref = imageRef(imageId);
  if (!ref) return [];
  return findings.filter((f) => f.sopInstanceUid === ref.sopInstanceUid && f.frame === ref.frame);
}

/**
 * The outline's corners as Cornerstone image coordinates. The API gives pixel edges
 * (a pixel's box runs from x to x + 1); Cornerstone puts pixel centres on whole numbers.
 */
export function outline(f: OverlayFinding): [number, number][] {
  const edge = (v: number) => v - 0.5;
  if (f.contour) return f.contour.map(([x, y]) => [edge(x), edge(y)]);
  const [x0, y0, x1, y1] = f.bbox ?? [0, 0, 0, 0];
  return [
    [edge(x0), edge(y0)],
    [edge(x1), edge(y0)],
    [edge(x1), edge(y1)],
    [edge(x0), edge(y1)],
  ];
}

export const STATUS_COLOUR: Record<AiFindingStatus, string> = {
  suggestion: '#facc15', // an AI suggestion: yellow until a doctor decides
  accepted: '#22c55e',
  edited: '#38bdf8',
  rejected: '#ef4444',
};
