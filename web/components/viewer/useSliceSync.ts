'use client';

import { useEffect, type RefObject } from 'react';
import { csCore, instanceFor } from '@/lib/viewer/cornerstone';
import { slicePosition } from '@/lib/viewer/imageIds';
import { closestIndex } from '@/lib/viewer/priors';
import { stackViewport } from './ViewportPane';

function positionOf(imageId: string | undefined): number | null {
  const ds = instanceFor(imageId);
  return ds ? slicePosition(ds) : null;
}

function paneOf(target: EventTarget | null): number | null {
  const pane = (target as HTMLElement | null)?.dataset?.pane;
  return pane === undefined ? null : Number(pane);
}

/**
 * Synchronised scrolling by slice position (mm along the normal, not by index: a prior may
 * be numbered the other way round or have other slices). The active pane leads; a follower
 * whose series has just loaded is brought to the leader's position.
 * Cornerstone's events do not bubble, so the grid listens in the capture phase.
 */
export function useSliceSync(grid: RefObject<HTMLDivElement | null>, enabled: boolean, activeRef: RefObject<number>, panes: number) {
  useEffect(() => {
    const el = grid.current;
    if (!enabled || !el) return;
    // The image each follower was told to show: its own event for it is not a new lead.
    const expected = new Map<number, string>();

    const align = (pane: number, imageId: string | undefined) => {
      const target = positionOf(imageId);
      const vp = stackViewport(pane);
      if (target === null || !vp) return;
      const ids = vp.getImageIds();
      const k = closestIndex(ids.map(positionOf), target);
      if (k < 0 || ids[k] === vp.getCurrentImageId()) return;
      expected.set(pane, ids[k]);
      void vp.setImageIdIndex(k);
    };

    const lead = (from: number, imageId: string | undefined) => {
      for (let i = 0; i < panes; i += 1) if (i !== from) align(i, imageId);
    };

    // A new image in the leader moves the others; a follower's own are ignored (or expected).
    const onNewImage = (e: Event) => {
      const from = paneOf(e.target);
      const imageId = (e as CustomEvent<{ imageId?: string }>).detail?.imageId;
      if (from === null) return;
      if (expected.get(from) === imageId) {
        expected.delete(from);
        return;
      }
      if (from === activeRef.current) lead(from, imageId);
    };

    // A stack finished loading (Cornerstone is done with it): line it up with the leader.
    const onNewStack = (e: Event) => {
      const from = paneOf(e.target);
      if (from === null) return;
      const leader = activeRef.current;
      if (from === leader) lead(from, stackViewport(from)?.getCurrentImageId());
      else align(from, stackViewport(leader)?.getCurrentImageId());
    };

    const { STACK_NEW_IMAGE, VIEWPORT_NEW_IMAGE_SET } = csCore.Enums.Events;
    el.addEventListener(STACK_NEW_IMAGE, onNewImage, true);
    el.addEventListener(VIEWPORT_NEW_IMAGE_SET, onNewStack, true);
    // Panes already loaded when the link is made (sync switched back on): follow the leader now.
    lead(activeRef.current, stackViewport(activeRef.current)?.getCurrentImageId());
    return () => {
      el.removeEventListener(STACK_NEW_IMAGE, onNewImage, true);
      el.removeEventListener(VIEWPORT_NEW_IMAGE_SET, onNewStack, true);
    };
  }, [grid, enabled, activeRef, panes]);
}
