import http from 'node:http';
import type { AddressInfo } from 'node:net';
import axios from 'axios';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { useSession } from '@/lib/auth/store';
import { api, refreshAccessToken, shouldRenew } from './client';

// A real HTTP server standing in for the API: tokens "t0" (expired) and "t1", "t2"... (fresh).
let server: http.Server;
let refreshCalls = 0;
let current = 't0';

beforeAll(async () => {
  server = http.createServer((req, res) => {
    if (req.url === '/api/auth/refresh' && req.method === 'POST') {
      refreshCalls += 1;
      // Slow enough that concurrent 401s overlap with one refresh in flight.
      setTimeout(() => {
        current = `t${refreshCalls}`;
        res.writeHead(200, { 'Content-Type': 'application/json' });
        res.end(JSON.stringify({ access_token: current, token_type: 'bearer', expires_in: 900, refresh_expires_in: 3600 }));
      }, 50);
      return;
    }
    const auth = req.headers.authorization ?? '';
    if (auth !== `Bearer ${current}` || current === 't0') {
      res.writeHead(401, { 'Content-Type': 'application/json' });
      res.end(JSON.stringify({ error: { code: 'not_authenticated', message: 'no', details: null } }));
      return;
    }
    res.writeHead(200, { 'Content-Type': 'application/json' });
    res.end(JSON.stringify({ ok: true, token: current }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  axios.defaults.baseURL = base;
  api.defaults.baseURL = base;
});

afterAll(() => {
  server.close();
});

describe('access token refresh', () => {
  it('refreshes once for concurrent 401s and retries each request once', async () => {
    useSession.getState().setToken('t0', 900);
    const responses = await Promise.all([api.get('/api/a'), api.get('/api/b'), api.get('/api/c')]);
    expect(refreshCalls).toBe(1);
    expect(responses.map((r) => r.data.token)).toEqual(['t1', 't1', 't1']);
    expect(useSession.getState().accessToken).toBe('t1');
  });

  it('shares one refresh between direct callers', async () => {
    const before = refreshCalls;
    const [a, b] = await Promise.all([refreshAccessToken(), refreshAccessToken()]);
    expect(refreshCalls).toBe(before + 1);
    expect(a).toBe(b);
  });
});

describe('idle sessions', () => {
  it('renews ahead of expiry only after user activity', () => {
    expect(shouldRenew(2000, 1000)).toBe(true);
    expect(shouldRenew(1000, 2000)).toBe(false);
  });
});
