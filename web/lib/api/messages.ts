import type { TFunction } from '@/lib/i18n';
import { minutesToWait, type ApiErrorInfo } from './errors';

const KNOWN = new Set([
  'invalid_credentials',
  'account_locked',
  'too_many_requests',
  'not_authenticated',
  'session_expired',
  'permission_denied',
  'password_change_required',
  'not_found',
  'validation_error',
  'payload_too_large',
  'service_unavailable',
  'network_error',
]);

/** The user-facing sentence for an API error, translated by its code. */
export function errorMessage(t: TFunction, info: ApiErrorInfo): string {
  if (info.code === 'account_locked' || info.code === 'too_many_requests') {
    return t(`errors.${info.code}`, { minutes: minutesToWait(info.retryAfter) });
  }
  if (KNOWN.has(info.code)) return t(`errors.${info.code}`);
  return t('errors.generic', { code: info.code });
}
