import axios, { type AxiosError, type InternalAxiosRequestConfig } from 'axios';
import { useSession, type Me } from '@/lib/auth/store';
import type { components } from './schema';

export type TokenResponse = components['schemas']['TokenResponse'];

/** Same-origin client: the refresh cookie (path /api/auth) goes along by itself. */
export const api = axios.create({ baseURL: '/', withCredentials: true });

const AUTH_PATHS = ['/api/auth/login', '/api/auth/refresh'];

api.interceptors.request.use((config) => {
  const token = useSession.getState().accessToken;
  if (token && !config.headers.has('Authorization')) {
    config.headers.set('Authorization', `Bearer ${token}`);
  }
  return config;
});

let refreshing: Promise<string | null> | null = null;
let timer: ReturnType<typeof setTimeout> | null = null;
let lastActivity = Date.now();
let lastRefresh = Date.now();

/**
 * Idle log-off stays the server's decision: the token is renewed ahead of expiry only if the
 * user did something since the last renewal. An idle screen lets it lapse; the next request
 * then tries one refresh, which the server refuses once its idle timeout has passed.
 */
export function shouldRenew(activityAt: number, refreshedAt: number): boolean {
  return activityAt > refreshedAt;
}

if (typeof window !== 'undefined') {
  const mark = () => {
    lastActivity = Date.now();
  };
  for (const type of ['pointerdown', 'keydown', 'wheel']) {
    window.addEventListener(type, mark, { passive: true, capture: true });
  }
}

function scheduleRefresh(expiresIn: number): void {
  if (timer) clearTimeout(timer);
  lastRefresh = Date.now();
  // Renew a minute before expiry (or at 80% of a very short lifetime).
  const lead = Math.min(60, expiresIn * 0.2);
  timer = setTimeout(() => {
    if (shouldRenew(lastActivity, lastRefresh)) void refreshAccessToken();
  }, Math.max(5, expiresIn - lead) * 1000);
}

/** One refresh in flight at a time: concurrent callers share it. Resolves to the new token, or null. */
export function refreshAccessToken(): Promise<string | null> {
  if (!refreshing) {
    refreshing = (async () => {
      try {
        const { data } = await axios.post<TokenResponse>('/api/auth/refresh', undefined, {
          withCredentials: true,
        });
        useSession.getState().setToken(data.access_token, data.expires_in);
        scheduleRefresh(data.expires_in);
        return data.access_token;
      } catch {
        if (timer) clearTimeout(timer);
        useSession.getState().clear();
        return null;
      } finally {
        refreshing = null;
      }
    })();
  }
  return refreshing;
}

type RetryConfig = InternalAxiosRequestConfig & { _hfRetried?: boolean };

api.interceptors.response.use(undefined, async (error: AxiosError) => {
  const config = error.config as RetryConfig | undefined;
  const url = config?.url ?? '';
  if (
    error.response?.status === 401 &&
    config &&
    !config._hfRetried &&
    !AUTH_PATHS.some((p) => url.endsWith(p))
  ) {
    config._hfRetried = true;
    const token = await refreshAccessToken();
    if (token) {
      config.headers.set('Authorization', `Bearer ${token}`);
      return api.request(config);
    }
  }
  throw error;
});

export async function fetchMe(): Promise<Me> {
  const { data } = await api.get<Me>('/api/auth/me');
  useSession.getState().setMe(data);
  return data;
}

/** At page load: a session exists if the refresh cookie still works. */
export async function restoreSession(): Promise<boolean> {
  const token = await refreshAccessToken();
  if (!token) return false;
  try {
    await fetchMe();
    return true;
  } catch {
    useSession.getState().clear();
    return false;
  }
}

export async function login(username: string, password: string): Promise<Me> {
  const { data } = await axios.post<TokenResponse>(
    '/api/auth/login',
    { username, password },
    { withCredentials: true },
  );
  useSession.getState().setToken(data.access_token, data.expires_in);
  scheduleRefresh(data.expires_in);
  return fetchMe();
}

export async function logout(): Promise<void> {
  try {
    await api.post('/api/auth/logout');
  } finally {
    if (timer) clearTimeout(timer);
    useSession.getState().clear();
  }
}

/** Bearer header for fetches that do not go through axios (image loader, tus). */
export function authHeader(): Record<string, string> {
  const token = useSession.getState().accessToken;
  return token ? { Authorization: `Bearer ${token}` } : {};
}
