'use client';

import { useT } from '@/lib/i18n';
import { pageRange, totalLabel } from '@/lib/paging/range';

const PAGE_SIZES = [25, 50, 100];

type PagerProps = {
  total: number;
  /** false: `total` is a lower bound (shown "5,000+"); next stays open while more may follow. */
  totalExact?: boolean;
  offset: number;
  limit: number;
  onOffset: (offset: number) => void;
  /** Shows the page-size choice when given. */
  onLimit?: (limit: number) => void;
  busy?: boolean;
  /** The test id of the "1–50 of 120" text (each list keeps its own). */
  totalTestId: string;
};

/** "first–last of total", an optional page size, and previous / next: one for every list. */
export function Pager({ total, totalExact = true, offset, limit, onOffset, onLimit, busy, totalTestId }: PagerProps) {
  const t = useT();
  const { first, last, prevOffset, nextOffset } = pageRange(total, offset, limit);
  const button = 'rounded border border-slate-300 px-2 py-0.5 disabled:opacity-40';
  return (
    <div className="flex flex-wrap items-center gap-3 text-sm text-slate-600">
      <span data-testid={totalTestId}>{t('worklist.range', { first, last, total: totalLabel(total, totalExact) })}</span>
      {busy && <span>{t('common.loading')}</span>}
      <div className="ml-auto flex items-center gap-2">
        {onLimit && (
          <select
            aria-label={t('worklist.pageSize')}
            value={limit}
            onChange={(e) => onLimit(Number(e.target.value))}
            className="rounded border border-slate-300 px-1 py-0.5"
          >
            {PAGE_SIZES.map((n) => (
              <option key={n} value={n}>
                {t('worklist.perPage', { n })}
              </option>
            ))}
          </select>
        )}
        <button type="button" data-testid="page-prev" disabled={prevOffset === null} onClick={() => prevOffset !== null && onOffset(prevOffset)} className={button}>
          {t('worklist.prev')}
        </button>
        <button type="button" data-testid="page-next" disabled={nextOffset === null} onClick={() => nextOffset !== null && onOffset(nextOffset)} className={button}>
          {t('worklist.next')}
        </button>
      </div>
    </div>
  );
}
