// Browser test of the report editor beside the images: a doctor writes, inserts a key image and
// submits; a second doctor approves (signs); the PDF downloads and is a PDF; a phrase shortcut
// and the phrase picker fill a section and reach the server.
// Run alone with `node e2e/reports.mjs` (needs web/out). Exit code 0 when every step passed.
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { apiLogin, ARTIFACTS, assert, closeSession, finish, HOUNSFIELD, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';

const SECOND = { username: 'e2e-attending', password: 'Attending-pass-2026!' };
const THIRD = { username: 'e2e-reviewer', password: 'Reviewer-pass-2026!', role: 'doctor' };
const HEAD = { username: 'e2e-head', password: 'Head-pass-2026!x', role: 'department_head' };
// I8: markup that would set window.__x if it were ever parsed as HTML instead of shown as text.
const XSS = '<img src=x onerror=window.__x=1>';

let page;
const { results, step, failed } = stepRunner({ prefix: 'failure-reports-', artifacts: ARTIFACTS, currentPage: () => page });

async function signIn(base, user) {
  await page.goto(`${base}/login/`);
  await page.getByTestId('login-form').waitFor();
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', user.password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(/\/studies\/$/);
}

async function openViewer(base, uid) {
  await page.goto(`${base}/viewer/?study=${uid}`);
  await page.waitForSelector('[data-testid=viewport-element-0][data-rendered="1"]', { timeout: 60000 });
  await page.getByTestId('report-editor').waitFor();
}

/** In the open draft: `;nml` + Space becomes the shared phrase, the picker inserts another at
 * the cursor, and both reach the server through autosave. */
async function phraseStep(base, uid, headers) {
  await step('reports: ;nml + Space expands the phrase and the picker inserts one; both are saved', async () => {
    await page.waitForSelector('[data-testid=report-phrases]:not([data-count="0"])');
    const box = page.getByTestId('report-recommendation');
    await box.fill('');
    await box.click();
    await page.keyboard.type(';nml ');
    await page.waitForFunction(() => document.querySelector('[data-testid=report-recommendation]')?.value === '未见明显异常。');
    await page.getByTestId('report-phrases').click();
    await page.getByTestId('report-phrase-search').fill('fu');
    await page.locator('[data-testid=report-phrase-item][data-shortcut=fu]').click();
    const want = '未见明显异常。建议定期复查。';
    await page.waitForFunction((w) => document.querySelector('[data-testid=report-recommendation]')?.value === w, want);
    await page.waitForSelector('[data-testid=report-save-state][data-state=saved]');
    const list = await (await fetch(`${base}/api/reports?study_instance_uid=${uid}`, { headers })).json();
    const draft = list.items.find((r) => r.status === 'draft');
    assert(draft && draft.recommendation === want, `saved: ${JSON.stringify(draft?.recommendation)}`);
  });
}

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
}

/** The user's id and display name (for contacts and the names the pages show). */
async function whoIs(base, user) {
  const me = await (await fetch(`${base}/api/auth/me`, { headers: await apiLogin(base, user) })).json();
  return { id: me.id, name: me.display_name || me.username };
}

// The report pages (history with diff and PDF preview, print view, critical-result inbox): run
// right after the approval, with the approver (SECOND) signed in and the viewer open on the report.
async function historySteps(base, uid) {
  await step('reports: the history page shows a corrected word as deleted and inserted; the PDF preview loads', async () => {
    const second = await apiLogin(base, SECOND);
    const [report] = (await (await fetch(`${base}/api/reports?study_instance_uid=${uid}`, { headers: second })).json()).items;
    const amended = await fetch(`${base}/api/reports/${report.id}/amend`, {
      method: 'POST',
      headers: { ...second, 'Content-Type': 'application/json' },
      body: JSON.stringify({ kind: 'correction', reason: '左右笔误', impression: '左肺上叶结节，建议随访。' }),
    });
    assert(amended.ok, `amend: ${amended.status}`);
    await page.getByTestId('report-history-link').click();
    await page.waitForURL(/\/reports\/history\/\?id=/);
    // The last two versions (signed, corrected) are compared first: 右 became 左.
    const impression = page.getByTestId('diff-impression');
    await impression.waitFor();
    assert((await impression.locator('del[data-testid=diff-changed]').allTextContents()).join('') === '右', 'the deleted character');
    assert((await impression.locator('ins[data-testid=diff-changed]').allTextContents()).join('') === '左', 'the inserted character');
    assert((await page.getByTestId('version-row').count()) >= 4, 'the versions listed');
    assert((await page.locator('[data-testid=version-row]').last().textContent()).includes('✓'), 'the corrected version is signed');
    // From the empty first version: the findings were inserted.
    await page.getByTestId('diff-from-1').check();
    await page.getByTestId('diff-findings').locator('ins', { hasText: '右肺上叶见一结节' }).first().waitFor();
    const src = await page.getByTestId('report-pdf-preview').getAttribute('src');
    assert(src?.startsWith('blob:'), `the PDF preview is a blob URL: ${src}`);
    // A frame the page's CSP refused would show chrome-error:// instead of the blob.
    const frame = page.frames().find((f) => f.url() === src) ?? (await page.waitForEvent('framenavigated', { predicate: (f) => f.url() === src }));
    assert(frame.url() === src, 'the PDF frame loaded');
    await shot('reports-history');
  });

  await step('reports: the print view shows the Chinese findings, the patient and the verified signature; the shell is not printed', async () => {
    await page.getByTestId('report-print-link').click();
    await page.waitForURL(/\/reports\/print\/\?id=/);
    await page.getByTestId('print-findings').waitFor();
    assert((await page.getByTestId('print-findings').textContent()) === '右肺上叶见一结节，直径约8mm。', 'the findings as written');
    assert((await page.getByTestId('print-impression').textContent()) === '左肺上叶结节，建议随访。', 'the corrected impression');
    assert((await page.getByTestId('print-patient-name').textContent()).length > 1, 'the patient named');
    await page.waitForSelector('[data-testid=print-verify][data-valid=true]');
    await page.emulateMedia({ media: 'print' });
    assert(!(await page.getByTestId('logout').isVisible()), 'the app header is hidden in print');
    assert(!(await page.getByTestId('print-button').isVisible()), 'the toolbar is hidden in print');
    assert(await page.getByTestId('print-findings').isVisible(), 'the report is printed');
    await shot('reports-print-media');
    await page.emulateMedia({ media: 'screen' });
    await page.evaluate(() => {
      window.__printed = 0;
      window.print = () => {
        window.__printed += 1;
      };
    });
    await page.getByTestId('print-button').click();
    assert((await page.evaluate(() => window.__printed)) === 1, 'the button prints');
  });

  await step('reports: a critical result is acknowledged in the inbox and moves to closed with its time', async () => {
    const contact = await whoIs(base, SECOND);
    const flagged = await fetch(`${base}/api/critical-results`, {
      method: 'POST',
      headers: { ...(await apiLogin(base, USERS.doctor)), 'Content-Type': 'application/json' },
      body: JSON.stringify({ study_instance_uid: uid, finding: '右肺张力性气胸，请立即处理', contacts: [contact.id] }),
    });
    assert(flagged.status === 201, `flag: ${flagged.status}`);
    const { id } = await flagged.json();
    await page.goto(`${base}/studies/`);
    await page.waitForSelector('[data-testid=nav-critical-count]:text-is("1")');
    await page.getByTestId('nav-critical').click();
    const row = page.locator(`[data-testid=critical-row][data-id="${id}"]`);
    await row.waitFor();
    assert((await row.getByTestId('critical-finding').textContent()) === '右肺张力性气胸，请立即处理', 'the finding');
    assert((await row.getByTestId('critical-level').textContent()) === '首位联系人', 'not escalated');
    await row.getByTestId('critical-ack').click();
    await page.getByTestId('critical-empty').waitFor();
    await page.waitForSelector('[data-testid=critical-open-count]:text-is("0")');
    await page.getByTestId('critical-tab-closed').click();
    const closed = page.locator(`[data-testid=critical-row][data-id="${id}"]`);
    await closed.waitFor();
    assert((await closed.getByTestId('critical-acked-by').textContent()) === contact.name, 'acknowledged by the contact');
    assert(/^(\d+分 )?\d+秒$/.test(await closed.getByTestId('critical-time').textContent()), 'the time to acknowledge');
    assert((await page.getByTestId('critical-median').textContent()) === (await closed.getByTestId('critical-time').textContent()), 'the summary');
    await shot('reports-critical-closed');
  });
}

// Peer review: the server samples every approval (HOUNSFIELD_REPORTS__PEER_REVIEW_RATE=1), so the
// report approved above has a review; it goes to a third doctor, who scores it in the queue page,
// and the head of department sees the score in the results.
async function peerReviewSteps(base, uid) {
  await step('reports: a third doctor scores the sampled report in the peer-review queue; the department head sees it in the results', async () => {
    const admin = { ...(await apiLogin(base, USERS.admin)), 'Content-Type': 'application/json' };
    const sampled = (await (await fetch(`${base}/api/peer-reviews/results`, { headers: admin })).json()).items.filter((r) => r.study_instance_uid === uid);
    assert(sampled.length === 1 && sampled[0].sampled, `one review sampled at approval: ${JSON.stringify(sampled)}`);
    const [review] = sampled;
    // Drawn among every eligible doctor (the admin too): given to the third one by hand.
    const third = await whoIs(base, THIRD);
    if (review.reviewer?.id !== third.id) {
      const assigned = await fetch(`${base}/api/peer-reviews/${review.id}/assign`, { method: 'POST', headers: admin, body: JSON.stringify({ reviewer_id: third.id }) });
      assert(assigned.ok, `assign: ${assigned.status}`);
    }

    await page.context().clearCookies();
    await signIn(base, THIRD);
    await page.getByTestId('nav-reportspeer-review').click();
    await page.locator(`[data-testid=peer-item][data-id="${review.id}"]`).click();
    await page.getByTestId('peer-report').getByText('右肺上叶见一结节，直径约8mm。').waitFor();
    assert((await page.getByTestId('peer-open-viewer').getAttribute('href')).includes(uid), 'a link to the study in the viewer');
    await page.getByTestId('peer-score-2').check();
    assert(await page.getByTestId('peer-submit').isDisabled(), 'a 2 needs a significance first');
    await page.getByTestId('peer-significance-a').check();
    await page.getByTestId('peer-comment').fill('左右笔误已更正，结节描述准确。');
    await page.getByTestId('peer-submit').click();
    await page.getByTestId('peer-given').getByText('2a', { exact: false }).waitFor();
    await page.getByTestId('peer-tab-done').click();
    await page.locator(`[data-testid=peer-item][data-id="${review.id}"] [data-testid=peer-item-score]:text-is("2a")`).waitFor();
    assert((await page.getByTestId('peer-tab-results').count()) === 0, 'a doctor without report:qc has no results tab');

    await page.context().clearCookies();
    await signIn(base, HEAD);
    await page.getByTestId('nav-reportspeer-review').click();
    await page.getByTestId('peer-tab-results').click();
    const row = page.locator(`[data-testid=peer-result][data-id="${review.id}"]`);
    await row.waitFor();
    assert((await row.getByTestId('peer-result-score').textContent()) === '2a', 'the score in the results');
    assert((await row.textContent()).includes('左右笔误已更正'), 'the comment in the results');
    assert((await page.getByTestId('peer-summary-2a').textContent()) === '1', 'the summary counts the 2a');
    assert((await page.getByTestId('peer-summary-done').textContent()) === '1', 'one done');
    await shot('reports-peer-review-results');
  });
}

async function main() {
  // Every approved report is sampled for peer review on this server (peerReviewSteps).
  process.env.HOUNSFIELD_REPORTS__PEER_REVIEW_RATE ??= '1';
  const session = await openSession(chromium, { name: 'reports' });
  const { server, base, scratch } = session;
  page = session.page;
  try {
    const admin = await apiLogin(base, USERS.admin);
    const made = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), path.join(scratch, 's.zip'), 'RPT1', '3'], { encoding: 'utf8' });
    assert(made.status === 0, made.stderr);
    const form = new FormData();
    form.append('files', new Blob([readFileSync(path.join(scratch, 's.zip'))], { type: 'application/zip' }), 's.zip');
    assert((await fetch(`${base}/api/uploads`, { method: 'POST', headers: admin, body: form })).ok, 'upload');
    const uid = (await (await fetch(`${base}/api/studies?patient_id=RPT1`, { headers: admin })).json()).items[0].study_instance_uid;
    // The second reader, made like the harness's users (no password change on first login).
    const created = spawnSync(HOUNSFIELD, ['user', 'create', '--username', SECOND.username, '--password', SECOND.password, '--role', 'doctor'], { env: server.env, encoding: 'utf8' });
    assert(created.status === 0, `second doctor: ${created.stderr}`);
    // The peer reviewer and the head of department (peerReviewSteps), made here: a CLI call
    // between two API calls can outlast the server's keep-alive and break the pooled socket.
    for (const u of [THIRD, HEAD]) {
      const made = spawnSync(HOUNSFIELD, ['user', 'create', '--username', u.username, '--password', u.password, '--role', u.role], { env: server.env, encoding: 'utf8' });
      assert(made.status === 0, `${u.username}: ${made.stderr}`);
    }

    await step('reports: a doctor writes beside the images, inserts a key image and submits', async () => {
      await signIn(base, USERS.doctor);
      await openViewer(base, uid);
      await page.getByTestId('report-new').click();
      await page.getByTestId('report-findings').fill('右肺上叶见一结节，直径约8mm。');
      await page.getByTestId('report-impression').fill('右肺上叶结节，建议随访。');
      await page.getByTestId('report-insert-key-image').click();
      await page.getByTestId('report-key-image').first().waitFor();
      await page.waitForSelector('[data-testid=report-save-state][data-state=saved]');
      await page.getByTestId('report-submit').click();
      await page.waitForSelector('[data-testid=report-open][data-status=preliminary]');
      const list = await (await fetch(`${base}/api/reports?study_instance_uid=${uid}`, { headers: admin })).json();
      const r = list.items[0];
      assert(r.findings.includes('结节') && r.key_images.length === 1 && r.key_images[0].window_width > 0, JSON.stringify(r));
    });

    await step('reports: a second doctor approves and the signature is valid; the PDF downloads', async () => {
      await page.context().clearCookies();
      await signIn(base, SECOND);
      await openViewer(base, uid);
      await page.getByTestId('report-approve').click();
      await page.waitForSelector('[data-testid=report-signature][data-valid=true]');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('report-pdf').click()]);
      const file = path.join(scratch, 'r.pdf');
      await download.saveAs(file);
      assert(readFileSync(file).subarray(0, 5).toString() === '%PDF-', 'a PDF');
    });
    await historySteps(base, uid);
    await step('reports: markup in findings and impression shows as text in the editor, never runs (I8)', async () => {
      const second = await apiLogin(base, SECOND);
      const json = { ...second, 'Content-Type': 'application/json' };
      const draft = await fetch(`${base}/api/reports`, { method: 'POST', headers: json, body: JSON.stringify({ study_instance_uid: uid }) });
      assert(draft.status === 201, `draft: ${draft.status}`);
      const { id, version } = await draft.json();
      const saved = await fetch(`${base}/api/reports/${id}`, { method: 'PATCH', headers: json, body: JSON.stringify({ version, findings: XSS, impression: XSS }) });
      assert(saved.ok, `draft saved: ${saved.status}`);
      await openViewer(base, uid);
      // The newest report (this draft) is the one opened.
      await page.waitForFunction((x) => document.querySelector('[data-testid=report-findings]')?.value === x, XSS);
      assert((await page.getByTestId('report-impression').inputValue()) === XSS, 'the impression shown as text');
      assert((await page.locator('[data-testid=report-editor] img').count()) === 0, 'no element made from the text');
      assert((await page.evaluate(() => window.__x)) === undefined, 'the onerror handler never ran');
    });
    await phraseStep(base, uid, admin);
    await peerReviewSteps(base, uid);
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'report browser steps');
}

runMain(main);
