// Browser test of the workstation on a phone (issue 13, "Phones"): 375×812, mobile viewport and
// touch (emulated over CDP: the harness's browser has neither), the demo CT (`hounsfield
// demo-studies`). No horizontal scrolling on the worklist or the viewer; touch gestures drive
// the viewer; the manifest and the service worker are there, and the worker's caches hold no
// API, DICOMweb or WADO answer after a patient page and an image were shown. Also the login
// page's JavaScript: bytes loaded, and none of it the viewer's (Cornerstone) code.
// Run alone with `node e2e/mobile.mjs` (needs web/out). Exit code 0 when every step passed.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { chromium } from 'playwright-core';
import { apiLogin, ARTIFACTS, assert, closeSession, finish, HOUNSFIELD, openSession, runMain, stepRunner, USERS } from './harness.mjs';

const PHONE = { width: 375, height: 812 };
// A string only Cornerstone's code holds (its event names): the viewer's chunks, nobody else's.
const VIEWER_CODE_MARK = 'CORNERSTONE_TOOLS_';

let page;
let cdp;
const measured = {};
const { results, step, failed } = stepRunner({ prefix: 'failure-mobile-', artifacts: ARTIFACTS, currentPage: () => page });

/** What Playwright's isMobile and hasTouch would set: a phone's layout viewport and touch input. */
async function emulatePhone() {
  cdp = await page.context().newCDPSession(page);
  await cdp.send('Emulation.setDeviceMetricsOverride', { ...PHONE, deviceScaleFactor: 1, mobile: true });
  await cdp.send('Emulation.setTouchEmulationEnabled', { enabled: true, maxTouchPoints: 5 });
}

const noHorizontalScroll = () =>
  page.evaluate(() => ({ scroll: document.scrollingElement.scrollWidth, inner: window.innerWidth }));

async function assertNoHorizontalScroll(where) {
  const { scroll, inner } = await noHorizontalScroll();
  assert(scroll <= inner, `${where}: page ${scroll} px wide in a ${inner} px window`);
}

async function touch(type, points) {
  await cdp.send('Input.dispatchTouchEvent', {
    type,
    touchPoints: points.map(([x, y], id) => ({ x: Math.round(x), y: Math.round(y), id, radiusX: 1, radiusY: 1, force: 1 })),
  });
}

/** Fingers moved from `from` to `to` (lists of [x, y], one per finger) in `steps` moves. */
async function gesture(from, to, steps = 12) {
  await touch('touchStart', from);
  for (let s = 1; s <= steps; s += 1) {
    await touch(
      'touchMove',
      from.map(([x, y], i) => [x + ((to[i][0] - x) * s) / steps, y + ((to[i][1] - y) * s) / steps]),
    );
  }
  await touch('touchEnd', []);
}

async function paneCentre() {
  const box = await page.getByTestId('viewport-element-0').boundingBox();
  return { x: box.x + box.width / 2, y: box.y + box.height / 2, height: box.height };
}

/** The slice number of pane 0's overlay ("(3/20)" → 3), or null. */
const sliceShown = () =>
  page.evaluate(() => /\((\d+)\/\d+\)/.exec(document.querySelector('[data-testid=overlay-image-0]')?.textContent ?? '')?.[1] ?? null);
/** The zoom readout of pane 0 in percent, or null. */
const zoomShown = () =>
  page.evaluate(() => Number(/(\d+)%/.exec(document.querySelector('[data-testid=overlay-wl-0]')?.textContent ?? '')?.[1] ?? NaN));

/** Waits until pane 0's readout of `kind` ('slice' or 'zoom') compares to `n` by `op` (gt, ne, eq). */
async function waitReadout(kind, op, n, what) {
  const ok = await page
    .waitForFunction(
      ({ kind, op, n }) => {
        const sel = kind === 'slice' ? '[data-testid=overlay-image-0]' : '[data-testid=overlay-wl-0]';
        const re = kind === 'slice' ? /\((\d+)\/\d+\)/ : /(\d+)%/;
        const m = re.exec(document.querySelector(sel)?.textContent ?? '');
        if (!m) return false;
        const v = Number(m[1]);
        return op === 'gt' ? v > n : op === 'ne' ? v !== n : v === n;
      },
      { kind, op, n },
      { timeout: 30000 },
    )
    .then(() => true, () => false);
  const value = kind === 'slice' ? await sliceShown() : await zoomShown();
  assert(ok, `${what}: ${value}`);
  return Number(value);
}

async function main() {
  const session = await openSession(chromium, { name: 'mobile', viewport: PHONE });
  const { server, base } = session;
  page = session.page;
  const started = Date.now();
  try {
    // Asynchronously: a blocked event loop would miss the server closing idle connections.
    await promisify(execFile)(HOUNSFIELD, ['demo-studies'], { env: server.env });
    const admin = await apiLogin(base, USERS.admin);
    const ct = (await (await fetch(`${base}/api/studies?patient_id=DEMO-0001`, { headers: admin })).json()).items[0];
    assert(ct, 'the demo CT is stored');
    const patient = (await (await fetch(`${base}/api/patients?q=DEMO-0001`, { headers: admin })).json()).items[0];
    assert(patient, 'the demo patient is stored');
    await emulatePhone();

    await step('mobile: the login page loads no viewer code', async () => {
      const scripts = [];
      const onResponse = (r) => {
        if (r.request().resourceType() !== 'script') return;
        scripts.push(r.body().then((b) => ({ url: r.url(), text: b.toString('utf8') }), () => ({ url: r.url(), text: '' })));
      };
      page.on('response', onResponse);
      await page.goto(`${base}/login/`, { waitUntil: 'networkidle' });
      page.off('response', onResponse);
      const loaded = await Promise.all(scripts);
      measured.loginScripts = loaded.length;
      measured.loginJsBytes = loaded.reduce((n, s) => n + Buffer.byteLength(s.text), 0);
      const viewerCode = loaded.filter((s) => s.text.includes(VIEWER_CODE_MARK)).map((s) => s.url);
      assert(loaded.length > 0, 'scripts were loaded');
      assert(viewerCode.length === 0, `viewer code on the login page: ${viewerCode.join(', ')}`);
      await assertNoHorizontalScroll('login');
    });

    await step('mobile: log in; the worklist shows cards, no horizontal scroll; the menu opens', async () => {
      await page.fill('input[name=username]', USERS.doctor.username);
      await page.fill('input[name=password]', USERS.doctor.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.locator(`[data-testid=study-card][data-study-uid="${ct.study_instance_uid}"]`).waitFor();
      assert((await page.getByTestId('study-table').count()) === 0, 'cards instead of the table');
      await assertNoHorizontalScroll('worklist');
      await page.getByTestId('menu-toggle').click();
      await page.getByTestId('menu-nav-patients').waitFor();
      await assertNoHorizontalScroll('worklist with the menu open');
      await page.getByTestId('menu-toggle').click();
      await page.getByTestId('nav-menu').waitFor({ state: 'detached' });
      await page.screenshot({ path: `${ARTIFACTS}/mobile-worklist.png` });
    });

    await step('mobile: the demo CT opens in one pane, no horizontal scroll', async () => {
      await page.locator(`[data-testid=study-card][data-study-uid="${ct.study_instance_uid}"] [data-testid=study-card-open]`).click();
      await page.waitForURL(/\/viewer\/\?study=/);
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      assert((await page.locator('[data-testid^=viewport-element-]').count()) === 1, 'one pane');
      assert((await page.getByTestId('side-panel').count()) === 0, 'the side panel is a drawer, shut');
      await assertNoHorizontalScroll('viewer');
      await page.screenshot({ path: `${ARTIFACTS}/mobile-viewer.png` });
    });

    await step('mobile: a one-finger swipe changes the slice', async () => {
      const before = await waitReadout('slice', 'gt', 0, 'slice shown');
      const c = await paneCentre();
      await gesture([[c.x, c.y - c.height * 0.25]], [[c.x, c.y + c.height * 0.25]]);
      const after = await waitReadout('slice', 'ne', before, `slice after the swipe (was ${before})`);
      measured.slices = { before, after };
    });

    await step('mobile: a pinch zooms in; a double tap fits again', async () => {
      const fitted = await waitReadout('zoom', 'gt', 0, 'zoom shown');
      const c = await paneCentre();
      await gesture(
        [
          [c.x - 30, c.y],
          [c.x + 30, c.y],
        ],
        [
          [c.x - 120, c.y],
          [c.x + 120, c.y],
        ],
      );
      const zoomed = await waitReadout('zoom', 'gt', fitted * 1.2, `zoom after the pinch (fitted ${fitted}%)`);
      measured.zoom = { fitted, zoomed };
      for (let tap = 0; tap < 2; tap += 1) {
        await touch('touchStart', [[c.x, c.y]]);
        await touch('touchEnd', []);
      }
      await waitReadout('zoom', 'eq', fitted, `zoom after the double tap (fitted ${fitted}%)`);
    });

    await step('mobile: the report panel opens over the images, as wide as the screen', async () => {
      await page.getByTestId('toggle-panel').click();
      const panel = page.getByTestId('side-panel');
      await page.getByTestId('panel-report').waitFor();
      const box = await panel.boundingBox();
      assert(box.width <= PHONE.width && box.x >= 0, `panel ${box.x}+${box.width}`);
      await assertNoHorizontalScroll('viewer with the report panel');
      await page.getByTestId('toggle-panel').click();
      await panel.waitFor({ state: 'detached' });
    });

    await step('mobile: the manifest is linked and valid', async () => {
      const manifest = await page.evaluate(async () => {
        const href = document.querySelector('link[rel=manifest]')?.getAttribute('href');
        if (!href) return null;
        const r = await fetch(href);
        return { type: r.headers.get('content-type'), json: JSON.parse(await r.text()) };
      });
      assert(manifest, 'a <link rel=manifest>');
      assert(manifest.type === 'application/manifest+json', `manifest type ${manifest.type}`);
      assert(manifest.json.name.includes('影像诊断工作站') && manifest.json.display === 'standalone', JSON.stringify(manifest.json));
      const sizes = manifest.json.icons.map((i) => i.sizes);
      assert(sizes.includes('192x192') && sizes.includes('512x512'), `icons ${sizes}`);
      for (const icon of manifest.json.icons) {
        const r = await fetch(new URL(icon.src, base));
        assert(r.ok && r.headers.get('content-type') === 'image/png', `${icon.src}: ${r.status}`);
      }
    });

    await step('mobile: the service worker registers; its caches hold no patient data', async () => {
      await page.evaluate(() => navigator.serviceWorker.ready.then(() => undefined));
      // Shown again under the worker's control: a patient page, then the study's images.
      await page.goto(`${base}/patients/detail/?id=${encodeURIComponent(patient.id)}`);
      await page.waitForFunction(() => !!navigator.serviceWorker.controller);
      await page.getByTestId('patient-title').waitFor();
      await page.goto(`${base}/viewer/?study=${ct.study_instance_uid}`);
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      const cached = await page.evaluate(async () => {
        const urls = [];
        for (const name of await caches.keys()) {
          for (const request of await (await caches.open(name)).keys()) urls.push(request.url);
        }
        return urls;
      });
      measured.cachedUrls = cached.length;
      const paths = cached.map((u) => new URL(u));
      const bad = paths.filter((u) => /^\/(api|dicom-web|wado)(\/|$)/i.test(u.pathname) || u.search || u.origin !== base);
      assert(bad.length === 0, `kept: ${bad.map(String).join(', ')}`);
      assert(paths.some((u) => u.pathname.startsWith('/_next/static/')), `the build's assets are kept: ${cached.join(', ')}`);
      assert(paths.some((u) => u.pathname === '/viewer/'), `the viewer's page is kept (without its query): ${cached.join(', ')}`);
    });

    await step('mobile: no script errors and no CSP violations', async () => {
      const bad = session.consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    measured.wallSeconds = Math.round((Date.now() - started) / 1000);
    console.log(`  mobile: ${JSON.stringify(measured)}`);
    await closeSession(session, { results, failed, more: { measured } });
  }
  finish(results, failed, 'mobile browser steps');
}

runMain(main);
