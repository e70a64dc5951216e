/** The API's one error shape: {"error": {"code", "message", "details"}}; the UI translates by code. */
export interface ApiErrorBody {
  error: { code: string; message: string; details: unknown };
}

export interface ApiErrorInfo {
  code: string;
  message: string;
  status: number;
  /** Seconds to wait, from `Retry-After` or `details.retry_after`. */
  retryAfter: number | null;
}

function isErrorBody(data: unknown): data is ApiErrorBody {
  if (typeof data !== 'object' || data === null || !('error' in data)) return false;
  const err = (data as { error: unknown }).error;
  return typeof err === 'object' && err !== null && 'code' in err;
}

interface ErrorLike {
  response?: { status: number; data?: unknown; headers?: Record<string, unknown> };
  message?: string;
}

export function describeError(error: unknown): ApiErrorInfo {
  const e = (error ?? {}) as ErrorLike;
  const response = e.response;
  if (!response) {
    return { code: 'network_error', message: e.message ?? 'network error', status: 0, retryAfter: null };
  }
  let retryAfter: number | null = null;
  const header = response.headers?.['retry-after'];
  if (typeof header === 'string' && /^\d+$/.test(header)) retryAfter = Number(header);
  if (isErrorBody(response.data)) {
    const { code, message, details } = response.data.error;
    if (retryAfter === null && typeof details === 'object' && details !== null) {
      const ra = (details as { retry_after?: unknown }).retry_after;
      if (typeof ra === 'number') retryAfter = ra;
    }
    return { code, message, status: response.status, retryAfter };
  }
  return { code: `http_${response.status}`, message: e.message ?? '', status: response.status, retryAfter };
}

/** Whole minutes to wait, rounded up, never less than one. */
export function minutesToWait(seconds: number | null): number {
  if (seconds === null || seconds <= 0) return 1;
  return Math.max(1, Math.ceil(seconds / 60));
}
