import { describeError } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { TFunction } from '@/lib/i18n';

function details(error: unknown): Record<string, string | number> {
  const d = (error as { response?: { data?: { error?: { details?: unknown } } } } | null)?.response?.data?.error?.details;
  if (typeof d !== 'object' || d === null) return {};
  return Object.fromEntries(
    Object.entries(d).filter((e): e is [string, string | number] => typeof e[1] === 'string' || typeof e[1] === 'number'),
  );
}

/** The sentence for an error of the AI API: its own code's (`ai.errors.<code>`, with the details), else the common one. */
export function aiErrorMessage(t: TFunction, error: unknown): string {
  const info = describeError(error);
  if (info.code.startsWith('ai_')) {
    const key = `ai.errors.${info.code}`;
    const text = t(key, details(error));
    if (text !== key) return text;
  }
  return errorMessage(t, info);
}
