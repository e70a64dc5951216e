// Viewer speed, measured in the browser (Debian's chromium, headless, no GPU: SwiftShader WebGL).
//   node bench/viewer_bench.mjs [slices=300] [runs=3]
// Needs `make web` (web/out) and `make install-dev`. Starts its own throw-away server, uploads a
// synthetic 512x512 CT series, then measures:
//   - open → first image: navigation start of /viewer/?study=… to the first image drawn
//     (performance mark set on Cornerstone's first IMAGE_RENDERED), per run (fresh page each);
//   - scrolling once loaded: every slice shown in turn (setImageIdIndex + wait for its
//     IMAGE_RENDERED), images/s.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(path.join(REPO, 'web', 'package.json'));
const { chromium } = require('playwright-core');
const { startServer, launchBrowser, USERS, PYTHON } = await import(path.join(REPO, 'web', 'e2e', 'harness.mjs'));

/** Entries of a zip written with ZIP_STORED (no compression): their raw bytes. */
function readZipEntries(buf) {
  const out = [];
  let p = 0;
  while (buf.readUInt32LE(p) === 0x04034b50) {
    const size = buf.readUInt32LE(p + 18);
    const nameLen = buf.readUInt16LE(p + 26);
    const extraLen = buf.readUInt16LE(p + 28);
    const start = p + 30 + nameLen + extraLen;
    out.push(buf.subarray(start, start + size));
    p = start + size;
  }
  return out;
}

const slices = Number(process.argv[2] ?? 300);
const runs = Number(process.argv[3] ?? 3);
const tmp = mkdtempSync(path.join(os.tmpdir(), 'hf-bench-'));
const zip = path.join(tmp, 'ct.zip');
execFileSync(PYTHON, [path.join(REPO, 'bench', 'make_ct_series.py'), zip, String(slices), 'BENCH-CT']);

const server = await startServer({ webDir: path.join(REPO, 'web', 'out') });
const result = { slices, runs: [], scroll: null };
let context;
try {
  const login = await fetch(`${server.base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: USERS.admin.username, password: USERS.admin.password }),
  });
  const { access_token: token } = await login.json();
  // Ingest through STOW-RS, 25 instances per request.
  const files = readZipEntries(readFileSync(zip));
  const t0 = Date.now();
  let study = null;
  for (let i = 0; i < files.length; i += 25) {
    const boundary = `hfbench${i}`;
    const parts = [];
    for (const f of files.slice(i, i + 25)) {
      parts.push(Buffer.from(`--${boundary}\r\nContent-Type: application/dicom\r\n\r\n`), f, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from(`--${boundary}--\r\n`));
    const r = await fetch(`${server.base}/dicom-web/studies`, {
      method: 'POST',
      headers: {
        Authorization: `Bearer ${token}`,
        'Content-Type': `multipart/related; type="application/dicom"; boundary=${boundary}`,
        Accept: 'application/dicom+json',
      },
      body: Buffer.concat(parts),
    });
    const body = await r.json();
    if (r.status !== 200) throw new Error(`STOW: ${r.status} ${JSON.stringify(body).slice(0, 300)}`);
    const url = body['00081199']?.Value?.[0]?.['00081190']?.Value?.[0] ?? '';
    study ??= url.split('/studies/')[1]?.split('/')[0] ?? null;
  }
  result.ingestSeconds = (Date.now() - t0) / 1000;
  if (!study) throw new Error('no study UID in the STOW responses');

  context = await launchBrowser(chromium, path.join(tmp, 'profile'));
  const page = context.pages()[0] ?? (await context.newPage());
  await page.goto(`${server.base}/login/`);
  await page.fill('input[name=username]', USERS.admin.username);
  await page.fill('input[name=password]', USERS.admin.password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/studies\/$/);

  if (process.env.BENCH_RENDERING) {
    await page.evaluate((v) => localStorage.setItem('hf.rendering', v), process.env.BENCH_RENDERING);
  }
  for (let r = 0; r < runs; r += 1) {
    await page.goto(`${server.base}/viewer/?study=${encodeURIComponent(study)}`);
    await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 120000 });
    const ms = await page.evaluate(() => performance.getEntriesByName('hf:first-image:0')[0]?.startTime ?? null);
    result.runs.push(Math.round(ms));
    console.log(`open → first image, run ${r + 1}: ${Math.round(ms)} ms`);
    if (process.env.BENCH_TRACE) {
      const trace = await page.evaluate(() =>
        performance
          .getEntriesByType('resource')
          .filter((e) => /\/api\/|\/dicom-web\/|\.js$/.test(e.name))
          .map((e) => `${Math.round(e.startTime)}-${Math.round(e.responseEnd)} ${e.name.replace(location.origin, '').slice(0, 90)}`),
      );
      console.log(trace.join('\n'));
    }
  }
  result.renderingPath = await page.evaluate(() => window.__hf.renderingPath);

  // Wait until the whole series is in Cornerstone's cache (prefetch), then scroll through it.
  const tLoad = Date.now();
  await page.waitForFunction((n) => window.__hf.cached(0) >= n, slices, { timeout: 300000, polling: 250 });
  result.allLoadedSeconds = (Date.now() - tLoad) / 1000;
  const scroll = await page.evaluate(async () => {
    const vp = window.__hf.viewport(0);
    const n = vp.getImageIds().length;
    const rendered = () => new Promise((resolve) => vp.element.addEventListener(window.__hf.imageRendered, resolve, { once: true }));
    await vp.setImageIdIndex(0);
    const t = performance.now();
    for (let i = 1; i < n; i += 1) {
      const done = rendered();
      await vp.setImageIdIndex(i);
      await done;
    }
    const s = (performance.now() - t) / 1000;
    return { images: n - 1, seconds: s, imagesPerSecond: (n - 1) / s };
  });
  result.scroll = scroll;
  console.log(`scroll once loaded: ${scroll.imagesPerSecond.toFixed(1)} images/s (${scroll.images} images in ${scroll.seconds.toFixed(2)} s)`);
  console.log(`rendering path: ${result.renderingPath}; whole series cached ${result.allLoadedSeconds.toFixed(1)} s after the last open`);
  mkdirSync(path.join(REPO, 'bench', 'results'), { recursive: true });
  writeFileSync(path.join(REPO, 'bench', 'results', 'viewer_bench.json'), JSON.stringify(result, null, 2));
} finally {
  await context?.close();
  await server.stop();
  rmSync(tmp, { recursive: true, force: true });
}
