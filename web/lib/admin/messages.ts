import type { ApiErrorInfo } from '@/lib/api/errors';
import { errorMessage } from '@/lib/api/messages';
import type { TFunction } from '@/lib/i18n';
import { passwordProblemKeys } from './format';

/** Codes of the administration API that have their own sentence (under `admin.errors.`). */
const ADMIN_CODES = new Set([
  'duplicate_name',
  'unknown_roles',
  'unknown_groups',
  'builtin_role',
  'last_admin',
  'user_not_found',
  'role_not_found',
  'api_key_not_found',
]);

/** The sentence for an error of the admin pages; refused passwords name each problem. */
export function adminErrorMessage(t: TFunction, info: ApiErrorInfo, problems: readonly string[] = []): string {
  if (info.code === 'password_rejected') {
    const parts = passwordProblemKeys(problems).map(({ key, n }) => t(key, n === undefined ? undefined : { n }));
    return [t('admin.password.rejected'), ...parts].join(' ');
  }
  if (info.code === 'invalid_credentials') return t('admin.password.wrongCurrent');
  if (ADMIN_CODES.has(info.code)) return t(`admin.errors.${info.code}`);
  return errorMessage(t, info);
}

/** `details.problems` of a password refusal (422 password_rejected), if any. */
export function passwordProblems(error: unknown): string[] {
  const data = (error as { response?: { data?: { error?: { details?: { problems?: unknown } } } } })?.response
    ?.data;
  const problems = data?.error?.details?.problems;
  return Array.isArray(problems) ? problems.filter((p): p is string => typeof p === 'string') : [];
}
