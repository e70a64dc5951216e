/**
 * RADPEER scoring: 1 concur with the interpretation; 2 a discrepancy not ordinarily expected
 * to be caught; 3 one that should be caught most of the time. 2 and 3 carry a significance:
 * a unlikely, b likely to be clinically significant.
 */
export type RadpeerScore = 1 | 2 | 3;
export type Significance = 'a' | 'b';

export const SCORES: RadpeerScore[] = [1, 2, 3];
/** The summary's keys in the order a table shows them. */
export const SCORE_KEYS = ['1', '2a', '2b', '3a', '3b'] as const;

/** The i18n key of what is wrong with a score form, or null when it can be sent. */
export function scoreProblem(score: RadpeerScore | null, significance: Significance | null): string | null {
  if (score === null) return 'peerReview.errors.scoreRequired';
  if (score === 1 && significance !== null) return 'peerReview.errors.noSignificanceFor1';
  if (score !== 1 && significance === null) return 'peerReview.errors.significanceRequired';
  return null;
}

/** The body of POST /api/peer-reviews/{id}/score; a score of 1 never sends a significance. */
export function scoreBody(score: RadpeerScore, significance: Significance | null, comment: string) {
  return { score, significance: score === 1 ? null : significance, comment: comment.trim() };
}

/** "1", "2a", "3b": how a done review is shown and counted. */
export function scoreLabel(score: number | null | undefined, significance: string | null | undefined): string {
  if (!score) return '';
  return score === 1 ? '1' : `${score}${significance ?? ''}`;
}

/** by_score as rows in RADPEER order (every key, 0 where none), then any key the server adds. */
export function scoreRows(byScore: Record<string, number>): [string, number][] {
  const known: [string, number][] = SCORE_KEYS.map((k) => [k, byScore[k] ?? 0]);
  const extra = Object.entries(byScore).filter(([k]) => !(SCORE_KEYS as readonly string[]).includes(k));
  return [...known, ...extra];
}
