import { describe, expect, it } from 'vitest';
import { translate } from '@/lib/i18n';
import { describeError, minutesToWait } from './errors';
import { errorMessage } from './messages';

const zh = (key: string, vars?: Record<string, string | number>) => translate('zh-CN', key, vars);
const en = (key: string, vars?: Record<string, string | number>) => translate('en', key, vars);

function httpError(status: number, code: string, headers: Record<string, string> = {}, details: unknown = null) {
  return { response: { status, headers, data: { error: { code, message: 'x', details } } } };
}

describe('API errors', () => {
  it('reads code and Retry-After', () => {
    const info = describeError(httpError(423, 'account_locked', { 'retry-after': '840' }));
    expect(info).toMatchObject({ code: 'account_locked', status: 423, retryAfter: 840 });
    expect(errorMessage(zh, info)).toContain('14 分钟');
    expect(errorMessage(en, info)).toContain('14 min');
  });

  it('falls back to details.retry_after', () => {
    const info = describeError(httpError(429, 'too_many_requests', {}, { retry_after: 61 }));
    expect(info.retryAfter).toBe(61);
    expect(errorMessage(en, info)).toContain('2 min');
  });

  it('translates wrong credentials and unknown codes', () => {
    expect(errorMessage(zh, describeError(httpError(401, 'invalid_credentials')))).toBe('用户名或密码错误。');
    expect(errorMessage(en, describeError(httpError(500, 'weird_thing')))).toContain('weird_thing');
    expect(describeError(new Error('boom')).code).toBe('network_error');
  });

  it('rounds waiting time up to whole minutes', () => {
    expect(minutesToWait(1)).toBe(1);
    expect(minutesToWait(60)).toBe(1);
    expect(minutesToWait(61)).toBe(2);
    expect(minutesToWait(null)).toBe(1);
  });
});
