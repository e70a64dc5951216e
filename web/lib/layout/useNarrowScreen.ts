import { useSyncExternalStore } from 'react';

/** Below Tailwind's `md` breakpoint: a phone, or a window as narrow as one. */
export const NARROW_QUERY = '(max-width: 767.98px)';

function subscribe(onChange: () => void): () => void {
  const list = window.matchMedia(NARROW_QUERY);
  list.addEventListener('change', onChange);
  return () => list.removeEventListener('change', onChange);
}

/**
 * Whether the screen is narrow, following rotation and resizing. Lists render either their
 * table or their phone cards (never both: the test ids of one row stay unique).
 */
export function useNarrowScreen(): boolean {
  return useSyncExternalStore(
    subscribe,
    () => window.matchMedia(NARROW_QUERY).matches,
    () => false,
  );
}
