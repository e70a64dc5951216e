'use client';

import { useEffect, type RefObject } from 'react';
import { csCore, refreshReferenceLines, setReferenceLines } from '@/lib/viewer/cornerstone';
import { stackViewport, viewportId } from './ViewportPane';

/**
 * Reference lines: where the active pane's slice plane cuts the other panes' (Cornerstone's
 * ReferenceLinesTool; nothing for parallel planes or another frame of reference). The source
 * follows the active pane and its slice: a new image drawn there redraws the lines. `ready`:
 * Cornerstone is initialised; `on`: the toggle, with more than one pane, and the grid shown.
 * Cornerstone's events do not bubble, so the grid listens in the capture phase.
 */
export function useReferenceLines(grid: RefObject<HTMLDivElement | null>, ready: boolean, on: boolean, active: number) {
  useEffect(() => {
    if (ready) setReferenceLines(on ? viewportId(active) : null);
  }, [ready, on, active]);

  useEffect(() => {
    const el = grid.current;
    if (!ready || !on || !el) return;
    let shown = stackViewport(active)?.getCurrentImageId();
    const onRendered = (e: Event) => {
      if ((e.target as HTMLElement | null)?.dataset?.pane !== String(active)) return;
      const imageId = stackViewport(active)?.getCurrentImageId();
      if (imageId === shown) return;
      shown = imageId;
      refreshReferenceLines();
    };
    const { IMAGE_RENDERED } = csCore.Enums.Events;
    el.addEventListener(IMAGE_RENDERED, onRendered, true);
    return () => el.removeEventListener(IMAGE_RENDERED, onRendered, true);
  }, [grid, ready, on, active]);
}
