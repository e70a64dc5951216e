'use client';

import { useEffect, useState } from 'react';
import { useT } from '@/lib/i18n';
import type { WorklistItem } from '@/lib/orders/types';
import { claimSecondsLeft } from '@/lib/worklist/urlState';

function mmss(seconds: number): string {
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

/** Re-render once a second while a claim is live, so the lock's countdown is true. */
function useNow(active: boolean): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    if (!active) return;
    const id = setInterval(() => setNow(Date.now()), 1000);
    return () => clearInterval(id);
  }, [active]);
  return now;
}

/** The lock: who reads the study and for how long the claim still holds. */
export function ClaimCell({ item, meId }: { item: WorklistItem; meId: string }) {
  const t = useT();
  const now = useNow(!!item.claimed_by);
  const left = claimSecondsLeft(item.claim_expires_at, now);
  if (!item.claimed_by || left === 0) return <span className="text-slate-400">—</span>;
  const mine = item.claimed_by.id === meId;
  return (
    <span
      data-testid="claim-lock"
      data-mine={mine ? '1' : '0'}
      title={t('worklist.lock.title', { name: item.claimed_by.name })}
      className={`inline-flex items-center gap-1 rounded px-1.5 py-0.5 text-xs whitespace-nowrap ${
        mine ? 'bg-sky-100 text-sky-800' : 'bg-amber-100 text-amber-900'
      }`}
    >
      <span aria-hidden>🔒</span>
      {mine ? t('worklist.lock.mine') : item.claimed_by.name}
      {left !== null && <span className="tabular-nums" data-testid="claim-expiry">{mmss(left)}</span>}
    </span>
  );
}
