// Browser tests of the viewer's defects (issue 13, "Viewer defects" 1–7): Debian's chromium
// driven by playwright-core against a throw-away `hounsfield serve`, with the studies of
// e2e/make_viewer_zip.py (CT + MR, DX/CR/OT/US, SR + RT plan) uploaded through the upload page.
// Run alone with `node e2e/viewer.mjs` (needs web/out); run.mjs runs it after its own steps.
// Exit code 0 when every step passed, 1 otherwise. Screenshots go to test-artifacts/ (repo root).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, assert, closeSession, finish, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';
import { greenLines, meanAbsDiff, pngStats } from './pixels.mjs';

let page;
// Each step opens what it needs, so every defect is reported even when another fails.
const { results, step, failed } = stepRunner({
  prefix: 'failure-viewer-',
  artifacts: ARTIFACTS,
  currentPage: () => page,
  stopOnFailure: false,
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function openStudy(base, uid) {
  await page.goto(`${base}/viewer/?study=${uid}`);
  await page.getByTestId('viewer').waitFor({ timeout: 60000 });
}

async function waitRendered(i = 0) {
  await page.waitForSelector(`[data-testid=viewport-element-${i}][data-rendered="1"]`, { timeout: 60000 });
}

/** Show a series (by its number in the overlay/panel label) in the active viewport. */
async function showSeries(number) {
  await page.locator('[data-testid=series-item]', { hasText: `#${number} ` }).click();
}

/** Each pane: canvas drawing size, its on-screen size × devicePixelRatio, zoom shown and zoom true. */
async function paneGeometry(n) {
  return page.evaluate((count) => {
    const out = [];
    for (let i = 0; i < count; i += 1) {
      const el = document.querySelector(`[data-testid=viewport-element-${i}]`);
      const canvas = el?.querySelector('canvas');
      const vp = window.__hf.viewport(i);
      const image = vp?.getCornerstoneImage?.();
      const rect = canvas.getBoundingClientRect();
      const dpr = window.devicePixelRatio;
      const shown = /缩放: (\d+)%/.exec(document.querySelector(`[data-testid=overlay-wl-${i}]`)?.textContent ?? '');
      // A fitted image fills the pane in one direction: screen pixels per image pixel.
      const fit = image ? Math.min(rect.width / image.columns, rect.height / image.rows) : null;
      out.push({
        i,
        drawing: [canvas.width, canvas.height],
        screen: [rect.width * dpr, rect.height * dpr],
        zoomShown: shown ? Number(shown[1]) : null,
        zoomFit: fit === null ? null : Math.round(fit * 100),
      });
    }
    return out;
  }, n);
}

async function assertUndistorted(n, label) {
  // The observer fires after layout; wait until every canvas matches (or fail with the numbers).
  await page
    .waitForFunction(
      (count) => {
        for (let i = 0; i < count; i += 1) {
          const c = document.querySelector(`[data-testid=viewport-element-${i}] canvas`);
          const el = document.querySelector(`[data-testid=viewport-element-${i}]`);
          if (!c || el?.dataset.rendered !== '1') return false;
          const r = c.getBoundingClientRect();
          if (Math.abs(c.width - r.width * devicePixelRatio) > 1 || Math.abs(c.height - r.height * devicePixelRatio) > 1) return false;
        }
        return true;
      },
      n,
      { timeout: 10000 },
    )
    .catch(() => {});
  // The readout follows the render after the resize.
  await page.waitForTimeout(200);
  const panes = await paneGeometry(n);
  for (const p of panes) {
    assert(
      Math.abs(p.drawing[0] - p.screen[0]) <= 1 && Math.abs(p.drawing[1] - p.screen[1]) <= 1,
      `${label}, pane ${p.i}: canvas ${p.drawing.join('×')} drawn, ${p.screen.map((v) => v.toFixed(1)).join('×')} on screen`,
    );
    assert(p.zoomShown !== null && p.zoomFit !== null, `${label}, pane ${p.i}: zoom shown`);
    assert(Math.abs(p.zoomShown - p.zoomFit) <= 1, `${label}, pane ${p.i}: zoom shown ${p.zoomShown}%, true ${p.zoomFit}%`);
  }
}

/** The text Cornerstone draws on the image (SVG annotation layer) of a viewport. */
async function svgText(i = 0) {
  return page.evaluate(
    (idx) =>
      Array.from(document.querySelectorAll(`[data-testid=viewport-element-${idx}] svg text`))
        .map((t) => t.textContent)
        .join(' | '),
    i,
  );
}

async function drag(fromDx, fromDy, toDx, toDy, i = 0) {
  const box = await page.getByTestId(`viewport-element-${i}`).boundingBox();
  const cx = box.x + box.width / 2;
  const cy = box.y + box.height / 2;
  await page.mouse.move(cx + fromDx, cy + fromDy);
  await page.mouse.down();
  await page.mouse.move(cx + toDx, cy + toDy, { steps: 10 });
  await page.mouse.up();
}

async function main() {
  const session = await openSession(chromium, { name: 'viewer' });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  try {
    const patientId = `VW${Date.now() % 100000}`;
    const zipPath = path.join(scratch, 'viewer.zip');
    let studies;

    await step('viewer fixtures uploaded', async () => {
      const r = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_viewer_zip.py'), zipPath, patientId], { encoding: 'utf8' });
      assert(r.status === 0, `zip built: ${r.stderr}`);
      studies = JSON.parse(r.stdout);
      await page.goto(`${base}/login/`);
      await page.fill('input[name=username]', USERS.admin.username);
      await page.fill('input[name=password]', USERS.admin.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.goto(`${base}/upload/`);
      await page.getByTestId('file-input').setInputFiles(zipPath);
      await page.locator('[data-testid=upload-item][data-state=done], [data-testid=upload-item][data-state=failed]').first().waitFor({ timeout: 60000 });
      const stored = await page.locator('[data-testid=upload-result][data-status=stored]').count();
      assert(stored === 19, `19 instances stored, got ${stored}`);
    });

    await step('W/L readout shows the file window exactly (400/40)', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await page.waitForFunction(() => /W: \d+ L: -?\d+/.test(document.querySelector('[data-testid=overlay-wl-0]')?.textContent ?? ''));
      const text = (await page.getByTestId('overlay-wl-0').textContent()) ?? '';
      assert(text.includes('W: 400 L: 40'), `readout: ${text}`);
      // A preset reads back as itself.
      await page.keyboard.press('5'); // abdomen 400/40
      await page.keyboard.press('2'); // mediastinum 350/50
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay-wl-0]')?.textContent ?? '').includes('W: 350 L: 50'));
    });

    await step('layouts 1×1, 1×2, 2×2: canvases undistorted, zoom readout true', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await assertUndistorted(1, '1×1');
      await page.getByTestId('layout-1x2').click();
      await waitRendered(1);
      await assertUndistorted(2, '1×2');
      await page.getByTestId('layout-2x2').click();
      await waitRendered(3);
      await assertUndistorted(4, '2×2');
      await shot('viewer-2x2-undistorted');
      await page.getByTestId('toggle-panel').click();
      await assertUndistorted(4, '2×2 without the side panel');
      await page.getByTestId('toggle-panel').click();
      await page.getByTestId('layout-1x1').click();
      await assertUndistorted(1, 'back to 1×1');
    });

    await step('CT presets for CT only: none for MR', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      assert(await page.getByTestId('preset-lung').isVisible(), 'lung preset offered for CT');
      await page.getByTestId('viewport-0').click();
      await showSeries(3); // MR
      await page.waitForFunction(() => /: 3\b/.test(document.querySelector('[data-testid=viewport-0]')?.textContent ?? ''));
      await waitRendered(0);
      assert((await page.locator('[data-testid^=preset-]').count()) === 0, 'no CT presets for MR');
      const wl = await page.getByTestId('overlay-wl-0').textContent();
      await page.keyboard.press('1');
      await page.waitForTimeout(200);
      assert((await page.getByTestId('overlay-wl-0').textContent()) === wl, 'key 1 does not apply the lung window to MR');
    });

    await step('measurement labels on the image are Chinese', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await page.getByTestId('tool-ellipse').click();
      await drag(-60, -40, 30, 30);
      await page.locator('[data-testid=measurement][data-tool=EllipticalROI]').waitFor();
      await page.waitForFunction(() => /均值/.test(Array.from(document.querySelectorAll('[data-testid=viewport-element-0] svg text')).map((t) => t.textContent).join(' ')));
      const text = await svgText(0);
      for (const word of ['面积', '均值', '标准差']) assert(text.includes(word), `"${word}" drawn: ${text}`);
      for (const word of ['Area', 'Mean', 'Std Dev', 'Max', 'Min']) assert(!text.includes(word), `no "${word}": ${text}`);
      assert(/HU/.test(text), `HU unit: ${text}`);
      await shot('viewer-roi-zh');
    });

    await step('arrow annotation text is typed in a dialog', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await page.getByTestId('tool-arrow').click();
      await drag(40, 40, 90, 70);
      const dialog = page.getByTestId('annotation-text-dialog');
      await dialog.waitFor();
      assert(((await dialog.textContent()) ?? '').includes('标注文字'), 'dialog in Chinese');
      await page.getByTestId('annotation-text-input').fill('结节 A');
      await page.getByTestId('annotation-text-ok').click();
      await dialog.waitFor({ state: 'detached' });
      await page.waitForFunction(() => /结节 A/.test(Array.from(document.querySelectorAll('[data-testid=viewport-element-0] svg text')).map((t) => t.textContent).join(' ')));
      const row = page.locator('[data-testid=measurement][data-tool=ArrowAnnotate]');
      assert(((await row.textContent()) ?? '').includes('结节 A'), 'listed with its text');
      // Cancel removes the new arrow: still one.
      await drag(-90, 60, -40, 90);
      await dialog.waitFor();
      await page.getByTestId('annotation-text-cancel').click();
      await dialog.waitFor({ state: 'detached' });
      await page.waitForTimeout(200);
      assert((await row.count()) === 1, 'cancelled arrow not kept');
      await page.getByTestId('tool-windowLevel').click();
      await shot('viewer-arrow-text');
    });

    /** The newest length's label on the image (after drawing a 120 px horizontal line). */
    async function drawLength() {
      await page.getByTestId('tool-length').click();
      const before = await page.locator('[data-testid=measurement][data-tool=Length]').count();
      await drag(-60, 0, 60, 0);
      await page.waitForFunction((n) => document.querySelectorAll('[data-testid=measurement][data-tool=Length]').length === n + 1, before);
      await page.getByTestId('tool-windowLevel').click();
      await page.waitForTimeout(100);
      const zoomText = (await page.getByTestId('overlay-wl-0').textContent()) ?? '';
      const zoom = Number(/缩放: (\d+)%/.exec(zoomText)?.[1]) / 100;
      const listed = (await page.locator('[data-testid=measurement][data-tool=Length]').last().textContent()) ?? '';
      return { image: await svgText(0), listed, imagePixels: 120 / zoom };
    }

    await step('DX/CR lengths: Pixel Spacing, then Imager Pixel Spacing with the caveat, else px', async () => {
      await openStudy(base, studies.xr);
      await waitRendered(0);
      // DX with Imager Pixel Spacing 0.2 mm only: mm, with the caveat.
      const dx = await drawLength();
      const mm = Number(/([\d.]+) mm/.exec(dx.listed)?.[1]);
      assert(Number.isFinite(mm), `DX length in mm: ${dx.listed}`);
      assert(Math.abs(mm - dx.imagePixels * 0.2) < dx.imagePixels * 0.2 * 0.05, `DX length ${mm} mm ≈ ${(dx.imagePixels * 0.2).toFixed(1)}`);
      assert(dx.image.includes('mm') && dx.image.includes('探测器像素间距'), `DX label with the caveat: ${dx.image}`);
      assert(dx.listed.includes('探测器像素间距'), `DX list row with the caveat: ${dx.listed}`);
      await shot('viewer-dx-length');
      // CR with Pixel Spacing 0.5 (and Imager Pixel Spacing 0.6): Pixel Spacing wins, no caveat.
      await showSeries(2);
      await page.waitForFunction(() => /: 2\b/.test(document.querySelector('[data-testid=viewport-0]')?.textContent ?? ''));
      await waitRendered(0);
      const cr = await drawLength();
      const crMm = Number(/([\d.]+) mm/.exec(cr.listed)?.[1]);
      assert(Math.abs(crMm - cr.imagePixels * 0.5) < cr.imagePixels * 0.5 * 0.05, `CR length ${cr.listed} ≈ ${(cr.imagePixels * 0.5).toFixed(1)} mm`);
      assert(!cr.listed.includes('探测器'), `no caveat with Pixel Spacing: ${cr.listed}`);
      // No spacing at all: px.
      await showSeries(3);
      await page.waitForFunction(() => /: 3\b/.test(document.querySelector('[data-testid=viewport-0]')?.textContent ?? ''));
      await waitRendered(0);
      const ot = await drawLength();
      assert(/\d px/.test(ot.listed) && !ot.listed.includes('mm'), `px without spacing: ${ot.listed}`);
    });

    await step('no CT presets for DX, CR or US', async () => {
      await openStudy(base, studies.xr);
      await waitRendered(0);
      for (const n of [1, 4]) {
        await showSeries(n);
        await page.waitForFunction((k) => new RegExp(`: ${k}\\b`).test(document.querySelector('[data-testid=viewport-0]')?.textContent ?? ''), n);
        assert((await page.locator('[data-testid^=preset-]').count()) === 0, `no CT presets for series ${n}`);
      }
    });

    await step('unknown study: a localized message, not a code', async () => {
      await page.goto(`${base}/viewer/?study=1.2.826.0.1.3680043.8.498.1`);
      const alert = page.getByTestId('viewer-error');
      await alert.waitFor({ timeout: 60000 });
      const text = (await alert.textContent()) ?? '';
      assert(text.includes('未找到该检查'), `message: ${text}`);
      assert(!/study_not_found|not_found|_/.test(text), `no raw code: ${text}`);
    });

    await step('SR shows its text, RT plan says what it is', async () => {
      await openStudy(base, studies.objects);
      const sr = page.getByTestId('non-image-0');
      await sr.waitFor({ timeout: 60000 });
      const srText = (await sr.textContent()) ?? '';
      assert(srText.includes('结构化报告'), `SR named: ${srText}`);
      assert(srText.includes(studies.srText), `SR text shown: ${srText}`);
      assert(srText.includes('Finding') || srText.includes('所见'), `concept name shown: ${srText}`);
      await shot('viewer-sr');
      await showSeries(11);
      await page.waitForFunction(() => /放疗计划/.test(document.querySelector('[data-testid=non-image-0]')?.textContent ?? ''));
      assert((await page.getByText('图像加载失败').count()) === 0, 'no "image failed" for non-image objects');
    });

    await step('priors listed newest first; one opens beside, scrolling synced by slice position', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      const priors = page.getByTestId('prior-study');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=prior-study]').length === 3);
      const order = await priors.evaluateAll((els) => els.map((e) => e.getAttribute('data-study')));
      assert(JSON.stringify(order) === JSON.stringify([studies.prior, studies.xr, studies.objects]), `newest first: ${order}`);
      await priors.first().click();
      await waitRendered(1);
      const paneText = (await page.getByTestId('viewport-1').textContent()) ?? '';
      assert(paneText.includes('2023-03-01') || paneText.includes('2023/03/01') || paneText.includes('2023年'), `prior's date in its pane: ${paneText}`);
      // The prior's slices are numbered the other way round: index 0 here is index 2 there.
      const index = (i) => page.evaluate((k) => Number(document.querySelector(`[data-testid=viewport-element-${k}]`)?.dataset.imageIndex), i);
      const waitIndex = (i, v) =>
        page.waitForFunction(([k, want]) => Number(document.querySelector(`[data-testid=viewport-element-${k}]`)?.dataset.imageIndex) === want, [i, v], { timeout: 10000 });
      await page.getByTestId('viewport-element-0').click();
      assert((await index(0)) === 0, 'current at its first slice');
      await waitIndex(1, 2);
      await page.keyboard.press('ArrowDown');
      await waitIndex(0, 1);
      await waitIndex(1, 1);
      await page.keyboard.press('ArrowDown');
      await waitIndex(0, 2);
      await waitIndex(1, 0);
      await shot('viewer-prior-compare');
      // Unlinked: the prior stays where it is.
      await page.getByTestId('sync-scroll').click();
      await page.keyboard.press('ArrowUp');
      await waitIndex(0, 1);
      await page.waitForTimeout(300);
      assert((await index(1)) === 0, 'prior not moved with sync off');
      // Closing the comparison brings the study's own series back.
      await priors.first().click();
      await page.waitForFunction(() => !/2023/.test(document.querySelector('[data-testid=viewport-1]')?.textContent ?? ''));
    });

    /** Whether pane i's SVG layer has a line drawn (a reference line: no measurement is made there). */
    const hasLine = (i) => page.evaluate((k) => !!document.querySelector(`[data-testid=viewport-element-${k}] svg line`), i);
    const lineAt = (i) =>
      page.evaluate((k) => {
        const l = document.querySelector(`[data-testid=viewport-element-${k}] svg line`);
        return l ? ['x1', 'y1', 'x2', 'y2'].map((a) => Math.round(Number(l.getAttribute(a)))).join(',') : null;
      }, i);
    const waitLine = (i, drawn) =>
      page.waitForFunction(([k, want]) => !!document.querySelector(`[data-testid=viewport-element-${k}] svg line`) === want, [i, drawn], { timeout: 60000 });
    const panePng = (i) => page.getByTestId(`viewport-element-${i}`).screenshot();

    async function openPlanes() {
      await openStudy(base, studies.planes);
      await waitRendered(0);
      await page.getByTestId('layout-1x2').click();
      await waitRendered(1);
      const text = async (i) => (await page.getByTestId(`viewport-${i}`).textContent()) ?? '';
      assert((await text(0)).includes(': 5 AX') && (await text(1)).includes(': 6 SAG'), 'axial beside sagittal');
    }

    await step('reference lines: the active slice across the other plane, following it and the active pane; none when off', async () => {
      await openPlanes();
      assert((await page.getByTestId('reference-lines').getAttribute('aria-pressed')) === 'true', 'on by default');
      // The axial pane is active: its slice (z = -30, low in the sagittal image) is a row there.
      await waitLine(1, true);
      assert(!(await hasLine(0)), 'none in the source pane');
      const first = await panePng(1);
      const low = await greenLines(page, first);
      assert(low.row.share > 0.5, `a green line across the sagittal pane: ${JSON.stringify(low)}`);
      assert(low.row.at > low.height / 2 + 40, `z = -30 below the middle: row ${low.row.at} of ${low.height}`);
      // The next axial slice (z = 0): the line moves up to the middle of the image.
      const before = await lineAt(1);
      await page.keyboard.press('ArrowDown');
      await page.waitForFunction(([k, was]) => {
        const l = document.querySelector(`[data-testid=viewport-element-${k}] svg line`);
        return l && ['x1', 'y1', 'x2', 'y2'].map((a) => Math.round(Number(l.getAttribute(a)))).join(',') !== was;
      }, [1, before]);
      const mid = await greenLines(page, await panePng(1));
      assert(mid.row.share > 0.5 && Math.abs(mid.row.at - mid.height / 2) < 12, `z = 0 at the middle: ${JSON.stringify(mid)}`);
      await shot('viewer-reference-line');
      // Off: the line goes (by pixels too).
      const onStats = await pngStats(page, await panePng(1));
      await page.getByTestId('reference-lines').click();
      await waitLine(1, false);
      const offPng = await panePng(1);
      const off = await greenLines(page, offPng);
      assert(off.row.share < 0.05 && off.col.share < 0.05, `no line when off: ${JSON.stringify(off)}`);
      const diff = meanAbsDiff(onStats.raw, (await pngStats(page, offPng)).raw);
      assert(diff > 0.05, `the pane changed when the line went: ${diff.toFixed(3)}`);
      // On again, the sagittal pane active: its slice (x = -20) is a column left of the axial's middle.
      await page.getByTestId('reference-lines').click();
      await page.getByTestId('viewport-element-1').click();
      await waitLine(0, true);
      await waitLine(1, false);
      const col = await greenLines(page, await panePng(0));
      assert(col.col.share > 0.5 && col.col.at < col.width / 2 - 40, `x = -20 a column left of the middle: ${JSON.stringify(col)}`);
    });

    /** Pane i's window as Cornerstone holds it (the synchronizer sets it at once). */
    const voi = (i) =>
      page.evaluate((k) => {
        const r = window.__hf.viewport(k)?.getProperties().voiRange;
        return r ? `${Math.round(r.lower)}..${Math.round(r.upper)}` : null;
      }, i);
    const waitWl = (i, text) =>
      page.waitForFunction(([k, want]) => (document.querySelector(`[data-testid=overlay-wl-${k}]`)?.textContent ?? '').includes(want), [i, text], { timeout: 10000 });

    await step('linked W/L: off by default; on, W/L of the active pane goes to the panes of its modality only', async () => {
      await openPlanes();
      const link = page.getByTestId('link-wl');
      assert((await link.getAttribute('aria-pressed')) === 'false', 'off by default');
      await waitWl(1, 'W: 3000 L: 1500');
      const own = await voi(1);
      await page.keyboard.press('2'); // mediastinum 350/50 in the axial pane
      await waitWl(0, 'W: 350 L: 50');
      assert((await voi(1)) === own, `unlinked: pane 1 keeps ${own}, has ${await voi(1)}`);
      await link.click();
      await page.keyboard.press('5'); // abdomen 400/40
      await waitWl(0, 'W: 400 L: 40');
      await waitWl(1, 'W: 400 L: 40');
      // A mouse drag with the W/L tool, likewise.
      await drag(0, 0, 60, 40, 0);
      await page.waitForFunction(() => !(document.querySelector('[data-testid=overlay-wl-0]')?.textContent ?? '').includes('W: 400 L: 40'));
      assert((await voi(1)) === (await voi(0)), `dragged window shared: ${await voi(0)} / ${await voi(1)}`);
      await shot('viewer-linked-wl');
      await link.click();
      const kept = await voi(1);
      await page.keyboard.press('2');
      await waitWl(0, 'W: 350 L: 50');
      assert((await voi(1)) === kept, `unlinked again: pane 1 keeps ${kept}, has ${await voi(1)}`);

      // CT beside MR: the CT window is not given to MR; a prior CT opened beside gets it.
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await page.getByTestId('layout-1x2').click();
      await waitRendered(1);
      await page.waitForFunction(() => /: 3\b/.test(document.querySelector('[data-testid=viewport-1]')?.textContent ?? ''));
      await page.getByTestId('link-wl').click();
      const mr = await voi(1);
      await page.keyboard.press('2');
      await waitWl(0, 'W: 350 L: 50');
      assert((await voi(1)) === mr, `MR keeps ${mr}, has ${await voi(1)}`);
      await page.getByTestId('prior-study').first().click();
      // Drawn from the prior's stack (a stack set later would bring its own window again).
      await page.waitForFunction(
        (uid) =>
          (window.__hf.viewport(1)?.getCurrentImageId() ?? '').includes(uid) &&
          document.querySelector('[data-testid=viewport-element-1]')?.dataset.rendered === '1',
        studies.prior,
      );
      await page.getByTestId('viewport-element-0').click();
      await page.keyboard.press('3'); // bone 2000/300 (the prior's own window is 400/40)
      await waitWl(0, 'W: 2000 L: 300');
      await waitWl(1, 'W: 2000 L: 300');
    });

    await step('saved measurements come back after a reload and are an SR over WADO-RS', async () => {
      await openStudy(base, studies.ct);
      await waitRendered(0);
      await page.locator('[data-testid=measurements-state][data-state=clean]').waitFor({ state: 'attached' });
      const lengths = page.locator('[data-testid=measurement][data-tool=Length]');
      const arrows = page.locator('[data-testid=measurement][data-tool=ArrowAnnotate]');
      await page.getByTestId('tool-length').click();
      await drag(-60, 0, 60, 0);
      await lengths.first().waitFor();
      await page.getByTestId('tool-arrow').click();
      await drag(40, 40, 90, 70);
      await page.getByTestId('annotation-text-input').fill('保存的标注');
      await page.getByTestId('annotation-text-ok').click();
      await arrows.first().waitFor();
      await page.getByTestId('tool-windowLevel').click();
      await page.locator('[data-testid=measurements-state][data-state=dirty]').waitFor({ state: 'attached' });
      const drawn = (await lengths.first().textContent()) ?? '';
      await page.getByTestId('measurements-save').click();
      await page.locator('[data-testid=measurements-state][data-state=clean]').waitFor({ state: 'attached' });

      await page.reload();
      await page.getByTestId('viewer').waitFor({ timeout: 60000 });
      await waitRendered(0);
      await page.locator('[data-testid=measurements-state][data-state=clean]').waitFor({ state: 'attached' });
      await lengths.first().waitFor();
      assert((await lengths.count()) === 1 && (await arrows.count()) === 1, 'one length and one arrow back');
      const back = (await lengths.first().textContent()) ?? '';
      const mm = (t) => Number(/([\d.]+) mm/.exec(t)?.[1]);
      assert(Math.abs(mm(back) - mm(drawn)) < 0.15, `the same length back: ${drawn} → ${back}`);
      assert(((await arrows.first().textContent()) ?? '').includes('保存的标注'), 'the arrow keeps its text');
      await page.waitForFunction(() => /保存的标注/.test(Array.from(document.querySelectorAll('[data-testid=viewport-element-0] svg text')).map((t) => t.textContent).join(' ')));
      await shot('viewer-measurements-restored');

      // Other viewers get them as DICOM: the SR is an instance of the study over WADO-RS.
      const login = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json' },
        body: JSON.stringify({ username: USERS.admin.username, password: USERS.admin.password }),
      });
      const auth = { Authorization: `Bearer ${(await login.json()).access_token}` };
      const saved = await (await fetch(`${base}/api/studies/${studies.ct}/measurements`, { headers: auth })).json();
      const wado = await fetch(`${base}/dicom-web/studies/${studies.ct}/series/${saved.series_instance_uid}/instances/${saved.sop_instance_uid}`, {
        headers: { ...auth, Accept: 'multipart/related; type="application/dicom"' },
      });
      assert(wado.status === 200, `WADO-RS ${wado.status}`);
      const body = Buffer.from(await wado.arrayBuffer()).toString('latin1');
      assert(body.includes('1.2.840.10008.5.1.4.1.1.88.34') && body.includes('1500'), 'a Comprehensive 3D SR, TID 1500');
    });

    await step('no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'viewer browser steps');
}

runMain(main);
