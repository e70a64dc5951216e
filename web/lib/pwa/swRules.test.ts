import { readFileSync } from 'node:fs';
import path from 'node:path';
import vm from 'node:vm';
import { describe, expect, it } from 'vitest';

/** public/sw-rules.js itself, run as the service worker runs it (a classic script setting self.hfSwRules). */
interface Rules {
  CACHE: string;
  strategyFor: (request: { url: string; method: string }, origin: string) => string;
  cacheKey: (url: string) => string;
  storable: (response: Response) => boolean;
}

function loadRules(): Rules {
  const file = path.resolve(__dirname, '..', '..', 'public', 'sw-rules.js');
  const scope: { hfSwRules?: Rules } = {};
  vm.runInNewContext(readFileSync(file, 'utf8'), { self: scope, URL });
  if (!scope.hfSwRules) throw new Error('sw-rules.js did not set self.hfSwRules');
  return scope.hfSwRules;
}

const rules = loadRules();
const ORIGIN = 'https://pacs.example.cn';
const get = (p: string) => rules.strategyFor({ url: ORIGIN + p, method: 'GET' }, ORIGIN);

describe('service worker cache rules', () => {
  it('never keeps the API, DICOMweb or WADO, whatever the path looks like', () => {
    for (const p of [
      '/api/studies',
      '/api',
      '/api/auth/me',
      '/API/studies',
      '/dicom-web/studies/1.2.3/series/4/instances/5/frames/1',
      '/dicom-web/studies/1.2.3/thumbnail',
      '/wado?requestType=WADO&studyUID=1.2.3',
      '/wado/rs/studies/1.2.3',
      '/api/reports/1/print/',
      '/dicom-web/studies/1.2.3/index.html',
      '/api/_next/static/x.js',
    ]) {
      expect(get(p), p).toBe('none');
    }
  });

  it('keeps hashed build assets, icons and fonts cache-first', () => {
    expect(get('/_next/static/chunks/app/login/page-45a6ee97c41965a9.js')).toBe('cache-first');
    expect(get('/_next/static/css/0f3c1a.css')).toBe('cache-first');
    expect(get('/icons/icon-192.png')).toBe('cache-first');
    expect(get('/icon.svg')).toBe('cache-first');
    expect(get('/_next/static/media/font.woff2')).toBe('cache-first');
  });

  it('keeps shell pages and the manifest network-first, under the path without the query', () => {
    expect(get('/')).toBe('network-first');
    expect(get('/studies/')).toBe('network-first');
    expect(get('/viewer/?study=1.2.840.113619.2.55')).toBe('network-first');
    expect(get('/404.html')).toBe('network-first');
    expect(get('/manifest.webmanifest')).toBe('network-first');
    expect(rules.cacheKey(`${ORIGIN}/viewer/?study=1.2.840.113619.2.55`)).toBe(`${ORIGIN}/viewer/`);
    expect(rules.cacheKey(`${ORIGIN}/patients/detail/?id=P12345#x`)).toBe(`${ORIGIN}/patients/detail/`);
  });

  it('leaves other origins, other methods and unknown files to the network', () => {
    expect(rules.strategyFor({ url: 'https://cdn.example.com/_next/static/a.js', method: 'GET' }, ORIGIN)).toBe('none');
    expect(rules.strategyFor({ url: `${ORIGIN}/_next/static/a.js`, method: 'POST' }, ORIGIN)).toBe('none');
    expect(get('/studies/index.txt?_rsc=abc')).toBe('none');
    expect(get('/sw.js')).toBe('none');
    expect(get('/_next/static/a.js?v=1')).toBe('none');
  });

  it('stores only plain 200 answers that allow storing', () => {
    const ok = new Response('x', { status: 200, headers: { 'Cache-Control': 'public, max-age=3600' } });
    // A constructed Response has type 'default'; the worker sees same-origin answers as 'basic'.
    const basic = (r: Response) => Object.defineProperty(r, 'type', { value: 'basic' });
    expect(rules.storable(basic(ok))).toBe(true);
    expect(rules.storable(basic(new Response('x', { status: 404 })))).toBe(false);
    expect(rules.storable(basic(new Response('x', { headers: { 'Cache-Control': 'no-store' } })))).toBe(false);
    expect(rules.storable(basic(new Response('x', { headers: { 'Cache-Control': 'private, max-age=60' } })))).toBe(false);
    expect(rules.storable(new Response('x'))).toBe(false);
  });

  it('names its cache with the hf- prefix the worker clears old versions by', () => {
    expect(rules.CACHE).toMatch(/^hf-static-v\d+$/);
  });
});
