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
}

interface OverlayState {
  visible: boolean;
  findings: OverlayFinding[];
  selected: string | null;
  setVisible: (visible: boolean) => void;
  setFindings: (findings: OverlayFinding[]) => void;
  select: (id: string | null) => void;
}

export const useAiOverlay = create<OverlayState>((set) => ({
  visible: true,
  findings: [],
  selected: null,
  setVisible: (visible) => set({ visible }),
  setFindings: (findings) => set({ findings }),
  select: (selected) => set({ selected }),
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
  };
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
