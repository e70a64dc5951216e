// Browser tests of the web workstation: Debian's chromium driven by playwright-core against a
// throw-away `hounsfield serve`. Exit code 0 when every step passed, 1 otherwise.
// Screenshots go to test-artifacts/ (repo root).
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { ARTIFACTS, assert, closeSession, openSession, PYTHON, REPO, shareSetUp, STEP_TIMEOUT, stepRunner, summarize, USERS } from './harness.mjs';
import { meanAbsDiff, pngStats } from './pixels.mjs';

let page;
let renderingPath = null;
let ctViewerUrl = null;
const { results, step, failed } = stepRunner({
  prefix: 'failure-',
  artifacts: ARTIFACTS,
  currentPage: () => page,
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function viewportPng(i = 0) {
  return page.getByTestId(`viewport-element-${i}`).screenshot();
}

/** Pixel stats of a viewport once something is drawn (the canvas paints after the event). */
async function drawnStats(i = 0) {
  let stats;
  for (let attempt = 0; attempt < 20; attempt += 1) {
    stats = await pngStats(page, await viewportPng(i));
    if (stats.litFraction > 0.05) return stats;
    await page.waitForTimeout(250);
  }
  return stats;
}

/** The login, worklist, upload and viewer steps, then the other files' (each its own server); the exit code. */
async function main() {
  const session = await openSession(chromium, { name: 'run', viewport: { width: 1366, height: 768 } });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  try {
    const patientId = `E2E${Date.now() % 100000}`;
    const zipPath = path.join(scratch, 'study.zip');
    const bigPath = path.join(scratch, 'big.dcm');
    const mfPatientId = `Q${patientId.slice(3)}F`; // no substring of patientId or the reverse
    const codecPatientId = `C${patientId.slice(3)}K`;
    const codecZip = path.join(scratch, 'codecs.zip');

    await step('anonymous visit goes to the login page', async () => {
      await page.goto(`${base}/studies/`);
      await page.waitForURL(/\/login\//);
      await page.getByTestId('login-form').waitFor();
      await shot('01-login');
    });

    await step('wrong password shows the error', async () => {
      await page.fill('input[name=username]', USERS.doctor.username);
      await page.fill('input[name=password]', 'not-the-password');
      await page.getByTestId('login-submit').click();
      const error = page.getByTestId('login-error');
      await error.waitFor();
      const text = await error.textContent();
      assert(text?.includes('用户名或密码错误'), `error text: ${text}`);
      await shot('02-login-wrong-password');
    });

    await step('locked account shows the minutes to wait', async () => {
      for (let i = 0; i < 5; i += 1) {
        const r = await fetch(`${base}/api/auth/login`, {
          method: 'POST',
          headers: { 'Content-Type': 'application/json' },
          body: JSON.stringify({ username: USERS.nurse.username, password: 'wrong-password-x' }),
        });
        assert(r.status === 401 || r.status === 423, `failed login ${i}: ${r.status}`);
      }
      await page.fill('input[name=username]', USERS.nurse.username);
      await page.fill('input[name=password]', USERS.nurse.password);
      await page.getByTestId('login-submit').click();
      await page.waitForFunction(() => /锁定/.test(document.querySelector('[data-testid=login-error]')?.textContent ?? ''));
      const text = (await page.getByTestId('login-error').textContent()) ?? '';
      assert(/\d+ 分钟/.test(text), `lockout message with minutes: ${text}`);
      await shot('02b-login-locked');
      await page.fill('input[name=username]', USERS.doctor.username);
    });

    await step('right password lands on the worklist', async () => {
      await page.fill('input[name=password]', USERS.doctor.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.getByTestId('study-table').waitFor();
      assert((await page.getByTestId('current-user').textContent())?.length, 'user shown');
      // Navigation follows permissions: a doctor has image:read but not image:create.
      assert(await page.getByTestId('nav-studies').isVisible(), 'worklist link shown');
      assert((await page.getByTestId('nav-upload').count()) === 0, 'no upload link for a doctor');
    });

    await step('session survives a reload (refresh cookie)', async () => {
      await page.reload();
      await page.getByTestId('study-table').waitFor();
      assert(page.url().endsWith('/studies/'), `still on worklist: ${page.url()}`);
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login\//);
    });

    await step('admin logs in and sees the upload page', async () => {
      await page.getByTestId('login-form').waitFor();
      await page.fill('input[name=username]', USERS.admin.username);
      await page.fill('input[name=password]', USERS.admin.password);
      await page.getByTestId('login-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.getByTestId('nav-upload').waitFor();
    });

    await step('upload a zip of DICOM files', async () => {
      const r = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), zipPath, patientId, '12'], { encoding: 'utf8' });
      assert(r.status === 0, `zip built: ${r.stderr}`);
      await page.getByTestId('nav-upload').click();
      await page.waitForURL(/\/upload\/$/);
      await page.getByTestId('file-input').setInputFiles(zipPath);
      await page.locator('[data-testid=upload-item][data-state=done], [data-testid=upload-item][data-state=failed]').first().waitFor({ timeout: 60000 });
      assert((await page.locator('[data-testid=upload-item][data-state=done]').count()) === 1, 'zip upload done');
      const stored = await page.locator('[data-testid=upload-result][data-status=stored]').count();
      const refused = page.locator('[data-testid=upload-result][data-status=refused]');
      assert(stored === 14, `14 instances stored, got ${stored}`);
      assert((await refused.count()) === 1, 'the text file is refused');
      assert(((await refused.textContent()) ?? '').includes('readme.txt'), 'refusal names the file');
      assert(((await refused.textContent()) ?? '').includes('—'), 'refusal gives a reason');
      await shot('03-upload');
    });

    await step('the bell shows the upload notification live, read-all clears it', async () => {
      // Pushed over the SSE stream: no reload, no polling.
      await page.getByTestId('notifications-unread').waitFor({ timeout: STEP_TIMEOUT });
      await page.getByTestId('notifications-bell').click();
      const item = page.getByTestId('notification').first();
      await item.waitFor();
      const text = (await item.textContent()) ?? '';
      assert(text.includes('上传完成：存储 14，重复 0，拒绝 1'), `upload notification: ${text}`);
      await page.getByTestId('notifications-read-all').click();
      await page.getByTestId('notifications-unread').waitFor({ state: 'detached' });
      await shot('03a-notifications');
      await page.getByTestId('notifications-bell').click();
    });

    await step('a file over 100 MB goes through tus (resumable)', async () => {
      const r = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_multiframe.py'), bigPath, mfPatientId, '205'], { encoding: 'utf8' });
      assert(r.status === 0, `multi-frame file built: ${r.stderr}`);
      await page.getByTestId('file-input').setInputFiles(bigPath);
      const item = page.locator('[data-testid=upload-item][data-path="big.dcm"]');
      await page.waitForFunction(
        () => ['done', 'failed'].includes(document.querySelector('[data-testid=upload-item][data-path="big.dcm"]')?.getAttribute('data-state') ?? ''),
        undefined,
        { timeout: 180000 },
      );
      assert((await item.getAttribute('data-state')) === 'done', `tus upload done: ${await item.textContent()}`);
      assert(((await item.textContent()) ?? '').includes('续传'), 'sent as a resumable upload');
      assert((await item.locator('[data-testid=upload-result][data-status=stored]').count()) === 1, 'stored');
      await shot('03b-upload-resumable');
    });

    await step('upload compressed files (JPEG, JPEG 2000, JPEG-LS, RLE)', async () => {
      const r = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_codec_zip.py'), codecZip, codecPatientId], { encoding: 'utf8' });
      assert(r.status === 0, `codec zip built: ${r.stderr}`);
      await page.getByTestId('file-input').setInputFiles(codecZip);
      const item = page.locator('[data-testid=upload-item][data-path="codecs.zip"]');
      await page.waitForFunction(
        () => ['done', 'failed'].includes(document.querySelector('[data-testid=upload-item][data-path="codecs.zip"]')?.getAttribute('data-state') ?? ''),
        undefined,
        { timeout: 60000 },
      );
      assert((await item.locator('[data-testid=upload-result][data-status=stored]').count()) === 6, 'six stored');
    });

    await step('filter the worklist', async () => {
      await page.getByTestId('nav-studies').click();
      await page.waitForURL(/\/studies\/$/);
      await page.getByTestId('filter-q').fill(patientId);
      await page.waitForFunction(
        (pid) => {
          const rows = document.querySelectorAll('[data-testid=study-row]');
          return rows.length === 1 && rows[0].textContent.includes(pid);
        },
        patientId,
      );
      const row = page.getByTestId('study-row');
      assert(((await row.textContent()) ?? '').includes('王小明'), 'Chinese name shown');
      await page.getByTestId('filter-q').fill(`${patientId}-nobody`);
      await page.getByTestId('no-studies').waitFor();
      await page.getByTestId('filter-q').fill(patientId);
      await row.waitFor();
      const rows = () => page.locator('[data-testid=study-row]');
      const firstIds = async () => (await rows().allTextContents()).map((t) => t.slice(0, 60));
      // Modality: the study has CT and MR.
      await page.getByTestId('filter-modality').selectOption('MR');
      await page.waitForFunction(() => !document.querySelector('[data-testid=no-studies]') && document.querySelectorAll('[data-testid=study-row]').length === 1);
      await page.getByTestId('filter-modality').selectOption('US');
      await page.getByTestId('no-studies').waitFor();
      await page.getByTestId('filter-modality').selectOption('');
      await row.waitFor();
      // Quick pick "today": the study is from 2024.
      await page.getByTestId('quick-today').click();
      await page.getByTestId('no-studies').waitFor();
      // Clear: all four uploaded studies, with the total; then sort by patient name both ways
      // (descending first: 王小明 sorts after the Latin names, "<b>XSS…" before them).
      await page.getByTestId('filter-clear').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=study-row]').length === 4);
      assert(((await page.getByTestId('study-total').textContent()) ?? '').includes('4'), 'total shown');
      await page.getByTestId('sort-patient_name').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=study-row]')?.textContent?.includes('王小明'));
      await page.getByTestId('sort-patient_name').click();
      await page.waitForFunction(() => document.querySelector('[data-testid=study-row]')?.textContent?.includes('<b>XSS'));
      assert((await firstIds()).length === 4, 'still four rows');
      await page.getByTestId('filter-q').fill(patientId);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=study-row]').length === 1);
      await shot('04-worklist');
    });

    await step('DICOM strings that look like HTML stay text (XSS)', async () => {
      await page.getByTestId('filter-q').fill(`H${[...patientId].reverse().join('')}`);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=study-row]').length === 1 && document.querySelector('[data-testid=study-row]').textContent.includes('<img'));
      await page.getByTestId('study-row').dblclick();
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      const overlay = (await page.getByTestId('overlay-patient-0').textContent()) ?? '';
      assert(overlay.includes('<b>XSS</b>'), `name shown as text: ${overlay}`);
      assert((await page.locator('[data-testid=overlay-patient-0] b').count()) === 0, 'no <b> element from DICOM');
      const header = (await page.getByTestId('study-header').textContent()) ?? '';
      assert(header.includes('<img src=x'), `description shown as text: ${header}`);
      assert((await page.evaluate(() => window.__x)) === undefined, 'no script ran');
      assert((await page.locator('img[src=x]').count()) === 0, 'no <img> element from DICOM');
      await page.goBack();
      await page.getByTestId('filter-q').fill(patientId);
      await page.waitForFunction((pid) => {
        const rows = document.querySelectorAll('[data-testid=study-row]');
        return rows.length === 1 && rows[0].textContent.includes(pid) && !rows[0].textContent.includes('<img');
      }, patientId);
    });

    let before;
    await step('open the viewer and see the image drawn', async () => {
      await page.getByTestId('study-row').dblclick();
      await page.waitForURL(/\/viewer\/\?study=/);
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      // Let the first render settle.
      before = await drawnStats();
      assert(before.litFraction > 0.05, `image drawn (lit fraction ${before.litFraction.toFixed(3)})`);
      assert(before.distinctBins >= 4, `image has tonal range (${before.distinctBins} bins)`);
      const overlay = (await page.getByTestId('overlay-patient-0').textContent()) ?? '';
      assert(overlay.includes('王小明') && overlay.includes(patientId), `overlay shows whose images: ${overlay}`);
      renderingPath = await page.evaluate(() => window.__hf?.renderingPath ?? null);
      ctViewerUrl = page.url();
      await shot('05-viewer');
    });

    await step('window/level change redraws the image', async () => {
      const wlBefore = await page.getByTestId('overlay-wl-0').textContent();
      await page.keyboard.press('1'); // lung preset
      await page.waitForFunction((b) => document.querySelector('[data-testid=overlay-wl-0]')?.textContent !== b, wlBefore);
      await page.waitForTimeout(300);
      const after = await pngStats(page, await viewportPng());
      const diff = meanAbsDiff(before.raw, after.raw);
      assert(diff > 2, `pixels differ after W/L (mean abs diff ${diff.toFixed(2)})`);
      // Mouse W/L drag changes it again.
      const box = await page.getByTestId('viewport-element-0').boundingBox();
      const wl1 = await page.getByTestId('overlay-wl-0').textContent();
      await page.mouse.move(box.x + box.width / 2, box.y + box.height / 2);
      await page.mouse.down();
      await page.mouse.move(box.x + box.width / 2 + 80, box.y + box.height / 2 + 40, { steps: 8 });
      await page.mouse.up();
      await page.waitForFunction((b) => document.querySelector('[data-testid=overlay-wl-0]')?.textContent !== b, wl1);
      await shot('06-viewer-window-level');
    });

    await step('scroll through the stack, cine', async () => {
      const el = page.getByTestId('viewport-element-0');
      const idx = async () => Number(await el.getAttribute('data-image-index'));
      const start = await idx();
      await page.keyboard.press('ArrowDown');
      await page.waitForFunction((s) => Number(document.querySelector('[data-testid=viewport-element-0]')?.getAttribute('data-image-index')) === s + 1, start);
      await el.hover();
      await page.mouse.wheel(0, 120);
      await page.waitForFunction((s) => Number(document.querySelector('[data-testid=viewport-element-0]')?.getAttribute('data-image-index')) > s + 1, start);
      // Cine: Space plays (the index keeps moving), Space stops.
      const before = await idx();
      await page.keyboard.press(' ');
      await page.waitForFunction((b) => Number(document.querySelector('[data-testid=viewport-element-0]')?.getAttribute('data-image-index')) !== b, before);
      await page.keyboard.press(' ');
      assert(((await page.getByTestId('cine').textContent()) ?? '').includes('播放'), 'cine stopped');
    });

    await step('length and ROI measurements listed, one deleted', async () => {
      await page.getByTestId('tool-length').click();
      const box = await page.getByTestId('viewport-element-0').boundingBox();
      const cx = box.x + box.width / 2;
      const cy = box.y + box.height / 2;
      await page.mouse.move(cx - 60, cy);
      await page.mouse.down();
      await page.mouse.move(cx + 60, cy + 20, { steps: 10 });
      await page.mouse.up();
      const item = page.locator('[data-testid=measurement][data-tool=Length]');
      await item.waitFor();
      const text = (await item.textContent()) ?? '';
      assert(/\d+\.\d mm/.test(text), `length in mm listed: ${text}`);
      // An elliptical ROI on CT lists its mean ± SD in HU.
      await page.getByTestId('tool-ellipse').click();
      await page.mouse.move(cx - 40, cy - 80);
      await page.mouse.down();
      await page.mouse.move(cx + 20, cy - 40, { steps: 10 });
      await page.mouse.up();
      const roi = page.locator('[data-testid=measurement][data-tool=EllipticalROI]');
      await roi.waitFor();
      await page.waitForFunction(() => /± [\d.-]+ HU/.test(document.querySelector('[data-testid=measurement][data-tool=EllipticalROI]')?.textContent ?? ''));
      await shot('07-viewer-measurement');
      // Delete the length: the ROI stays.
      await item.getByTestId('measurement-delete').click();
      await item.waitFor({ state: 'detached' });
      assert((await page.locator('[data-testid=measurement]').count()) === 1, 'one measurement left');
      await page.getByTestId('tool-windowLevel').click();
    });

    await step('layout 2×2, drag a series into a viewport, help dialog', async () => {
      await page.getByTestId('layout-2x2').click();
      await page.waitForSelector('[data-testid=viewport-element-1][data-rendered="1"]', { timeout: 30000 });
      // Drag the MR series (second in the panel) onto the fourth viewport.
      await page.getByTestId('series-item').nth(1).dragTo(page.getByTestId('viewport-3'));
      await page.waitForFunction(() => {
        const el = document.querySelector('[data-testid=viewport-3]');
        return !!el && /: 3\b/.test(el.textContent ?? '') && el.querySelector('[data-rendered="1"]');
      });
      await page.keyboard.press('?');
      await page.getByTestId('help-dialog').waitFor();
      await shot('08-viewer-2x2-help');
      await page.keyboard.press('Escape');
    });

    await step('multi-frame image: frames scroll', async () => {
      // Client-side navigation (no reload): the previous study's measurements must not follow.
      await page.getByTestId('nav-studies').click();
      await page.waitForURL(/\/studies\/$/);
      await page.getByTestId('filter-q').fill(mfPatientId);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=study-row]').length === 1);
      await page.getByTestId('study-row').dblclick();
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      const first = (await page.getByTestId('overlay-image-0').textContent()) ?? '';
      assert(first.includes('1/205'), `frame 1 of 205: ${first}`);
      assert((await page.locator('[data-testid=measurement]').count()) === 0, 'no measurement of another study');
      const a = await drawnStats();
      assert(a.litFraction > 0.05, 'frame drawn');
      await page.keyboard.press('PageDown');
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay-image-0]')?.textContent ?? '').includes('11/205'), undefined, { timeout: 60000 });
      await page.waitForTimeout(300);
      const b = await pngStats(page, await viewportPng());
      // The disc moves ~16 px between frame 1 and 11: about 1 grey level on average.
      const diff = meanAbsDiff(a.raw, b.raw);
      assert(diff > 0.3, `frame 11 differs from frame 1 (${diff.toFixed(2)})`);
      await shot('09-viewer-multiframe');
    });

    await step('compressed transfer syntaxes decode in the browser', async () => {
      await page.goto(`${base}/studies/`);
      await page.getByTestId('filter-q').fill(codecPatientId);
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=study-row]').length === 1);
      await page.getByTestId('study-row').dblclick();
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      const items = page.getByTestId('series-item');
      assert((await items.count()) === 6, 'six series');
      for (let i = 0; i < 6; i += 1) {
        const label = ((await items.nth(i).textContent()) ?? '').trim();
        await items.nth(i).click();
        // Series number i+1 shown in the overlay, and pixels drawn.
        await page.waitForFunction(
          (n) => {
            const pane = document.querySelector('[data-testid=viewport-0]');
            return pane?.querySelector('[data-rendered="1"]') && new RegExp(`: ${n} `).test(pane.textContent ?? '');
          },
          i + 1,
          { timeout: 30000 },
        );
        const stats = await drawnStats();
        assert(stats.litFraction > 0.02, `${label}: drawn (${stats.litFraction.toFixed(3)})`);
        assert(stats.distinctBins >= 3, `${label}: has tonal range`);
      }
      await shot('10-viewer-codecs');
    });

    await step('the other rendering path draws too', async () => {
      // Without a GPU the viewer picks Cornerstone's CPU renderer; force the other one.
      const other = renderingPath === 'cpu' ? 'gpu' : 'cpu';
      await page.evaluate((v) => localStorage.setItem('hf.rendering', v), other);
      await page.goto(ctViewerUrl);
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      assert((await page.evaluate(() => window.__hf?.renderingPath)) === other, `${other} path used`);
      const a = await drawnStats();
      assert(a.litFraction > 0.05, `image drawn on the ${other} path`);
      await page.keyboard.press('3'); // bone window
      await page.waitForFunction(() => (document.querySelector('[data-testid=overlay-wl-0]')?.textContent ?? '').includes('W: 2000'));
      await page.waitForTimeout(300);
      const b = await pngStats(page, await viewportPng());
      assert(meanAbsDiff(a.raw, b.raw) > 2, `W/L redraws on the ${other} path`);
      await page.evaluate(() => localStorage.removeItem('hf.rendering'));
    });

    await step('English switch is remembered', async () => {
      await page.getByTestId('locale-switch').selectOption('en');
      await page.getByText('Worklist').first().waitFor();
      await page.reload();
      await page.getByText('Worklist').first().waitFor();
      await page.getByTestId('locale-switch').selectOption('zh-CN');
    });

    await step('log out', async () => {
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login\//);
      await page.goto(`${base}/studies/`);
      await page.waitForURL(/\/login\//);
    });

    await step('no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed, more: { renderingPath }, file: 'e2e-results.json' });
  }
  summarize(results, failed, 'browser steps');
  // The device pages' and the viewer's steps run on their own servers (e2e/devices.mjs, e2e/viewer.mjs).
  const devices = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'devices.mjs')], { stdio: 'inherit' });
  const viewer = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'viewer.mjs')], { stdio: 'inherit' });
  // The patient, order, worklist and statistics pages' steps (e2e/patients.mjs), likewise.
  const patients = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'patients.mjs')], { stdio: 'inherit' });
  // The AI panel and model page (e2e/ai.mjs), likewise.
  const ai = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'ai.mjs')], { stdio: 'inherit' });
  // The administration console, roles' views and the zh-CN scan (e2e/admin.mjs), likewise.
  const admin = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'admin.mjs')], { stdio: 'inherit' });
  // The report editor beside the images, second reader and PDF (e2e/reports.mjs), likewise.
  const reports = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'reports.mjs')], { stdio: 'inherit' });
  // Phones: 375×812 with touch, the PWA's manifest and service worker (e2e/mobile.mjs), likewise.
  const mobile = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'mobile.mjs')], { stdio: 'inherit' });
  // MPR and MIP of a synthetic CT volume: the pixels of each plane (e2e/mpr.mjs), likewise.
  const mpr = spawnSync(process.execPath, [path.join(REPO, 'web', 'e2e', 'mpr.mjs')], { stdio: 'inherit' });
  return failed() || [devices, viewer, patients, ai, admin, reports, mobile, mpr].some((r) => r.status !== 0) ? 1 : 0;
}

const dropSetUp = shareSetUp();
main()
  .catch((err) => {
    console.error(err);
    return 1;
  })
  .then((code) => {
    dropSetUp();
    process.exit(code);
  });
