'use client';

import { useQueryClient } from '@tanstack/react-query';
import { useCallback, useEffect, useRef, useState } from 'react';
import { csCore, csTools, engine } from '@/lib/viewer/cornerstone';
import { collectSaved, fetchSaved, putSaved, restoreSaved } from '@/lib/viewer/savedMeasurements';

export type SaveState = 'loading' | 'clean' | 'dirty' | 'saving' | 'error';

export interface SavedMeasurements {
  state: SaveState;
  /** Who saved the current set (the SR's observer), once saved. */
  observer: string | null;
  save: () => void;
}

/**
 * The study's saved measurements: put back on the images when the study opens, saved (as the
 * study's measurement SR) on request; any change made since is 'dirty'.
 */
export function useSavedMeasurements(studyUid: string, ready: boolean): SavedMeasurements {
  const queryClient = useQueryClient();
  const [state, setState] = useState<SaveState>('loading');
  const [observer, setObserver] = useState<string | null>(null);
  const restoring = useRef(true);

  useEffect(() => {
    if (!ready) return;
    let cancelled = false;
    restoring.current = true;
    void fetchSaved(studyUid)
      .then(async (saved) => {
        if (cancelled) return;
        await restoreSaved(studyUid, saved);
        setObserver(saved.observer ?? null);
        engine().render();
        setState('clean');
      })
      .catch(() => !cancelled && setState('error'))
      .finally(() => {
        restoring.current = false;
      });
    return () => {
      cancelled = true;
    };
  }, [studyUid, ready]);

  useEffect(() => {
    if (!ready) return;
    const E = csTools.Enums.Events;
    const changed = (e: Event) => {
      const detail = (e as CustomEvent<{ changeType?: string }>).detail;
      // Statistics computed on drawing are no change the user made.
      if (restoring.current || detail?.changeType === 'StatsUpdated') return;
      setState((s) => (s === 'loading' ? s : 'dirty'));
    };
    const events = [E.ANNOTATION_COMPLETED, E.ANNOTATION_MODIFIED, E.ANNOTATION_REMOVED];
    for (const e of events) csCore.eventTarget.addEventListener(e, changed);
    return () => {
      for (const e of events) csCore.eventTarget.removeEventListener(e, changed);
    };
  }, [ready]);

  const save = useCallback(() => {
    setState('saving');
    putSaved(studyUid, collectSaved(studyUid))
      .then((saved) => {
        setObserver(saved.observer ?? null);
        setState('clean');
        // The SR is a series of the study now (or no longer): the series list follows.
        void queryClient.invalidateQueries({ queryKey: ['study', studyUid] });
      })
      .catch(() => setState('error'));
  }, [studyUid, queryClient]);

  return { state, observer, save };
}
