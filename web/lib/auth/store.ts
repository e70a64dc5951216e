import { create } from 'zustand';
import type { components } from '@/lib/api/schema';

/** GET /api/auth/me, typed from the backend's OpenAPI (npm run gen:api). */
export type Me = components['schemas']['Me'];

export type SessionStatus = 'unknown' | 'authenticated' | 'anonymous';

interface SessionState {
  status: SessionStatus;
  accessToken: string | null;
  /** Epoch milliseconds at which the access token expires. */
  expiresAt: number;
  me: Me | null;
  setToken: (token: string, expiresInSeconds: number) => void;
  setMe: (me: Me) => void;
  clear: () => void;
}

/** The session lives in memory only: the refresh token is an httpOnly cookie the page cannot read. */
export const useSession = create<SessionState>((set) => ({
  status: 'unknown',
  accessToken: null,
  expiresAt: 0,
  me: null,
  setToken: (token, expiresIn) =>
    set({ accessToken: token, expiresAt: Date.now() + expiresIn * 1000 }),
  setMe: (me) => set({ me, status: 'authenticated' }),
  clear: () => set({ accessToken: null, expiresAt: 0, me: null, status: 'anonymous' }),
}));

export function hasPermission(me: Me | null, permission: string): boolean {
  return !!me && me.permissions.includes(permission);
}
