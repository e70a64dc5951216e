// Browser test of MPR and MIP (issue 13, "What a radiologist needs"): Debian's chromium, no GPU
// (WebGL through SwiftShader), against a throw-away `hounsfield serve`, with the synthetic CT
// volume of e2e/make_mpr_zip.py (a bright box off-centre, a small dot outside the central
// planes) uploaded through the upload page. Checks the pixels of each plane: drawn, different
// from one another, the box where the geometry puts it; then a thick MIP slab shows the dot and
// a thick MinIP slab hides the box. Run alone with `node e2e/mpr.mjs` (needs web/out); run.mjs
// runs it after its own steps. Exit code 0 when every step passed, 1 otherwise.
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, assert, closeSession, finish, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';
import { brightRegion, meanAbsDiff, pngStats } from './pixels.mjs';

const PLANES = ['axial', 'sagittal', 'coronal'];
let page;
const { results, step, failed } = stepRunner({ prefix: 'failure-mpr-', artifacts: ARTIFACTS, currentPage: () => page });

const mid = ([a, b]) => (a + b) / 2;

async function planePng(plane) {
  return page.getByTestId(`mpr-element-${plane}`).screenshot();
}

/** Screenshot pixels per CSS pixel of a plane's element (devicePixelRatio). */
async function scaleOf(plane, png) {
  const width = await page.getByTestId(`mpr-element-${plane}`).evaluate((el) => el.clientWidth);
  const { width: shotWidth } = await pngStats(page, png);
  return shotWidth / width;
}

/** Where Cornerstone draws a patient point in a plane, in CSS pixels of its element. */
async function canvasOf(plane, point) {
  return page.evaluate(([p, w]) => window.__hfMpr.worldToCanvas(p, w), [plane, point]);
}

/** The renders of every plane so far. */
async function renderCounts() {
  return page.evaluate((planes) => planes.map((p) => Number(document.querySelector(`[data-testid=mpr-element-${p}]`).dataset.renders)), PLANES);
}

/** Wait until every plane has drawn again since `before` (a slab change), then its pixels. */
async function afterRender(before, probes) {
  await page.waitForFunction(
    ([planes, counts]) =>
      planes.every((p, i) => Number(document.querySelector(`[data-testid=mpr-element-${p}]`).dataset.renders) > counts[i]),
    [PLANES, before],
    { timeout: 60000 },
  );
  const out = {};
  for (const plane of PLANES) {
    const png = await planePng(plane);
    out[plane] = await brightRegion(page, png, { probes: probes[plane] ?? [] });
  }
  return out;
}

async function main() {
  const session = await openSession(chromium, { name: 'mpr' });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  if (process.env.MPR_DEBUG) page.on('console', (m) => console.log(`  [browser ${m.type()}] ${m.text()}`));
  try {
    const patientId = `MP${Date.now() % 100000}`;
    const zipPath = path.join(scratch, 'mpr.zip');
    let fx;

    await step('MPR fixture uploaded (a 40-slice CT volume and a 3-slice series)', async () => {
      const r = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_mpr_zip.py'), zipPath, patientId], { encoding: 'utf8' });
      assert(r.status === 0, `zip built: ${r.stderr}`);
      fx = JSON.parse(r.stdout);
      await page.goto(`${base}/login/`);
      await page.fill('input[name=username]', USERS.admin.username);
      await page.fill('input[name=password]', USERS.admin.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.goto(`${base}/upload/`);
      await page.getByTestId('file-input').setInputFiles(zipPath);
      await page.locator('[data-testid=upload-item][data-state=done], [data-testid=upload-item][data-state=failed]').first().waitFor({ timeout: 60000 });
      const stored = await page.locator('[data-testid=upload-result][data-status=stored]').count();
      assert(stored === fx.instances, `${fx.instances} instances stored, got ${stored}`);
    });

    await step('MPR refused, with the reason, for a 3-slice series; offered for the volume', async () => {
      await page.goto(`${base}/viewer/?study=${fx.study}`);
      await page.getByTestId('viewer').waitFor({ timeout: 60000 });
      await page.locator('[data-testid=series-item]', { hasText: '#3 ' }).click();
      await page.waitForSelector('[data-testid=viewport-element-0][data-image-count="3"][data-rendered="1"]', { timeout: 60000 });
      const button = page.getByTestId('mpr');
      await page.waitForFunction(() => /10/.test(document.querySelector('[data-testid=mpr]')?.title ?? ''));
      assert(await button.isDisabled(), 'MPR disabled for 3 slices');
      const title = (await button.getAttribute('title')) ?? '';
      assert(title.includes('至少 10 层'), `tooltip says why: ${title}`);
      await page.locator('[data-testid=series-item]', { hasText: '#2 ' }).click();
      await page.waitForSelector('[data-testid=viewport-element-0][data-image-count="40"][data-rendered="1"]', { timeout: 60000 });
      await page.waitForFunction(() => !document.querySelector('[data-testid=mpr]')?.disabled, null, { timeout: 30000 });
      assert(((await button.textContent()) ?? '').includes('三维重建'), 'the button is labelled in Chinese');
      // A stack state to come back to: image 5 of 40.
      await page.getByTestId('viewport-element-0').hover();
      for (let i = 0; i < 4; i += 1) await page.keyboard.press('ArrowDown');
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay-image-0]')?.textContent ?? '').includes('(5/40)'));
    });

    const expected = {};
    await step('MPR: three planes drawn, different, the box where the geometry puts it', async () => {
      await page.getByTestId('mpr').click();
      await page.locator('[data-testid=mpr-view][data-state=ready]').waitFor({ timeout: 60000 });
      try {
        for (const plane of PLANES) await page.locator(`[data-testid=mpr-element-${plane}][data-loaded="1"]`).waitFor({ timeout: 60000 });
      } catch (err) {
        const state = await page.evaluate(() => window.__hfMpr?.debug?.());
        throw new Error(`volume not loaded: ${JSON.stringify(state)}\n${err}`);
      }
      await page.screenshot({ path: path.join(ARTIFACTS, 'mpr-planes.png') });
      const box = [mid(fx.box.x), mid(fx.box.y), mid(fx.box.z)];
      const pngs = {};
      for (const plane of PLANES) {
        const png = await planePng(plane);
        pngs[plane] = await pngStats(page, png);
        const stats = pngs[plane];
        assert(stats.litFraction > 0.1, `${plane} drawn: ${stats.litFraction.toFixed(3)} of it lit`);
        const scale = await scaleOf(plane, png);
        const centre = (await canvasOf(plane, fx.centre)).map((v) => v * scale);
        const at = (await canvasOf(plane, box)).map((v) => v * scale);
        const bright = await brightRegion(page, png);
        assert(bright.count > 100, `${plane}: the box is drawn bright (${bright.count} px)`);
        const [cx, cy] = bright.centroid;
        // Within a tenth of the pane of where Cornerstone's geometry puts the box's centre.
        const tol = 0.1 * Math.min(stats.width, stats.height);
        assert(Math.hypot(cx - at[0], cy - at[1]) < tol, `${plane}: box at ${cx.toFixed(0)},${cy.toFixed(0)}, geometry says ${at.map((v) => v.toFixed(0))}`);
        // And on the side the patient's axes say: superior up (sagittal, coronal), anterior up
        // (axial), patient's left to the right (axial, coronal), anterior to the left (sagittal).
        const dx = cx - centre[0];
        const dy = cy - centre[1];
        const want = { axial: [1, -1], sagittal: [-1, -1], coronal: [1, -1] }[plane];
        assert(Math.sign(dx) === want[0] && Math.sign(dy) === want[1], `${plane}: box off-centre by ${dx.toFixed(0)},${dy.toFixed(0)}`);
        expected[plane] = { scale };
        const name = (await page.getByTestId(`mpr-patient-${plane}`).textContent()) ?? '';
        assert(name.includes('王') && name.includes(patientId), `${plane} shows whose images: ${name}`);
      }
      for (const [a, b] of [['axial', 'sagittal'], ['axial', 'coronal'], ['sagittal', 'coronal']]) {
        const d = meanAbsDiff(pngs[a].raw, pngs[b].raw);
        assert(d > 2, `${a} and ${b} differ (${d.toFixed(2)})`);
      }
      const drawnBy = await page.evaluate(() => window.__hf.renderingPath);
      console.log(`  stack panes render on ${drawnBy}; MPR on WebGL`);
    });

    await step('thick MIP slab shows the dot outside the central planes; thick MinIP hides the box', async () => {
      const dot = [mid(fx.dot.x), mid(fx.dot.y), mid(fx.dot.z)];
      const probes = {};
      for (const plane of PLANES) probes[plane] = [(await canvasOf(plane, dot)).map((v) => v * expected[plane].scale)];
      let before = await renderCounts();
      await page.getByTestId('mpr-slab-mode').selectOption('mip');
      await page.getByTestId('mpr-slab-thickness').fill('1');
      const thin = await afterRender(before, probes);
      before = await renderCounts();
      await page.getByTestId('mpr-slab-thickness').fill('100');
      const thick = await afterRender(before, probes);
      await page.screenshot({ path: path.join(ARTIFACTS, 'mpr-mip.png') });
      for (const plane of PLANES) {
        const slab = await page.evaluate((p) => window.__hfMpr.slab(p), plane);
        assert(slab >= 78, `${plane} slab ${slab} mm`);
        assert(thin[plane].probes[0] < 100, `${plane}: no dot in a thin slab (${thin[plane].probes[0].toFixed(0)})`);
        assert(thick[plane].probes[0] > 200, `${plane}: the dot in a thick MIP (${thick[plane].probes[0].toFixed(0)})`);
        assert(thick[plane].count > thin[plane].count, `${plane}: bright region grows ${thin[plane].count} → ${thick[plane].count}`);
      }
      before = await renderCounts();
      await page.getByTestId('mpr-slab-mode').selectOption('minip');
      const minip = await afterRender(before, {});
      for (const plane of PLANES) {
        assert(minip[plane].count < thin[plane].count / 10, `${plane}: MinIP hides the box (${minip[plane].count} px)`);
      }
    });

    await step('leaving MPR restores the stack panes as they were', async () => {
      await page.getByTestId('mpr').click();
      await page.getByTestId('mpr-view').waitFor({ state: 'detached' });
      const text = (await page.getByTestId('overlay-image-0').textContent()) ?? '';
      assert(text.includes('(5/40)'), `still image 5 of 40: ${text}`);
      const stats = await pngStats(page, await page.getByTestId('viewport-element-0').screenshot());
      assert(stats.litFraction > 0.1, `the stack pane still drawn (${stats.litFraction.toFixed(3)})`);
      assert(await page.getByTestId('layout-1x1').evaluate((b) => b.className.includes('bg-sky-700')), '1×1 layout kept');
    });

    await step('no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'MPR browser steps');
}

runMain(main);
