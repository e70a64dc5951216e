/** Where a page sits in a list of `total`: what the pager shows and where its buttons go. */
export type PageRange = {
  first: number;
  last: number;
  prevOffset: number | null;
  nextOffset: number | null;
};

export function pageRange(total: number, offset: number, limit: number): PageRange {
  const size = Math.max(1, limit);
  const start = Math.max(0, offset);
  return {
    first: total === 0 ? 0 : Math.min(total, start + 1),
    last: Math.min(total, start + size),
    prevOffset: start === 0 ? null : Math.max(0, start - size),
    nextOffset: start + size >= total ? null : start + size,
  };
}

/**
 * The total as the pager shows it: grouped digits, and `+` when it is a lower bound
 * (the server stops counting past a bound, e.g. 5,000 patients: "5,000+").
 */
export function totalLabel(total: number, exact = true): string {
  return `${total.toLocaleString('en-US')}${exact ? '' : '+'}`;
}
