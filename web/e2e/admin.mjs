// Browser tests of the administration console (issue 13): users, roles, audit log, API keys,
// system status, the forced first-login password change, what each role sees, /docs offline,
// and the zh-CN scan that fails on any visible English word outside the allow-list.
// Run alone with `node e2e/admin.mjs` (needs web/out); run.mjs runs it after its own steps.
// Exit code 0 when every step passed, 1 otherwise. Screenshots go to test-artifacts/ (repo root).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { apiLogin as bearer, ARTIFACTS, assert, closeSession, finish, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';

const NEW_USER = { username: 'e2e-new', initial: 'Set-By-Admin-2026', own: 'Mine-Alone-2026!q' };

// Terms that stay as they are in Chinese text: standards, modalities, units, product names.
export const ALLOWED_ENGLISH = new Set(
  [
    'Hounsfield', 'DICOM', 'DICOMweb', 'CT', 'MR', 'MRI', 'US', 'DX', 'CR', 'MG', 'XA', 'PT', 'NM', 'RF', 'OT',
    'SR', 'SEG', 'RT', 'PET', 'W', 'L', 'WL', 'WW', 'HU', 'AE', 'API', 'CSV', 'ID', 'PACS', 'RIS', 'HIS', 'AI',
    'TLS', 'UID', 'MRN', 'PDF', 'Redis', 'S3', 'STOW', 'RS', 'WADO', 'QIDO', 'HL7', 'MWL', 'MPR', 'MIP',
    'KiB', 'MiB', 'GiB', 'TiB', 'B', 'mm', 'cm', 'px', 'ms', 'English', 'JPEG', 'ZIP', 'zip', 'IP', 'SCP', 'SCU',
    'C', 'ECHO', 'STORE', 'FIND', 'MOVE', 'GET', 'URL', 'ROI', 'SD', 'KB', 'MB', 'GB', 'ONNX', 'Python', 'JSON', 'SHA', 'RADPEER',
    'Zhang', 'Wei', // the name-order setting's example: "拼音在前：Zhang Wei (张伟)"
  ].map((w) => w.toLowerCase()),
);

let page;
const { results, step, failed } = stepRunner({
  prefix: 'failure-admin-',
  artifacts: ARTIFACTS,
  currentPage: () => page,
  stopOnFailure: false,
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function signIn(base, user, password = user.password, landing = /\/studies\/$/) {
  await page.goto(`${base}/login/`);
  await page.getByTestId('login-form').waitFor();
  await page.fill('input[name=username]', user.username);
  await page.fill('input[name=password]', password);
  await page.getByTestId('login-submit').click();
  await page.waitForURL(landing);
}

async function signOut() {
  await page.getByTestId('logout').click();
  await page.waitForURL(/\/login\//);
}

async function apiLogin(base, username, password) {
  return fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username, password }),
  });
}

/** Loaded and drawn: no loading placeholder, and the text unchanged over two polls. */
async function settled() {
  await page.waitForFunction(
    () => {
      if (document.querySelector('[data-testid=loading]') || document.readyState !== 'complete') return false;
      const text = document.body.innerText;
      const same = window.__hfLastText === text;
      window.__hfLastText = text;
      return same;
    },
    undefined,
    { polling: 400 },
  );
}

/** Visible English words of the page (text, placeholders, titles) outside [translate=no]. */
async function englishWords() {
  return page.evaluate(() => {
    const words = new Set();
    const visible = (el) => {
      if (!el || el.closest('[translate="no"]')) return false;
      const style = getComputedStyle(el);
      if (style.visibility === 'hidden' || style.display === 'none') return false;
      return el.getClientRects().length > 0;
    };
    const add = (text) => {
      // Digits after the letters stay with them: HL7 is one term (allowed), not "HL".
      for (const w of text.match(/[A-Za-z]{2,}[0-9]*/g) ?? []) words.add(w);
    };
    const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
    for (let node = walker.nextNode(); node; node = walker.nextNode()) {
      const el = node.parentElement;
      if (el && !['SCRIPT', 'STYLE', 'NOSCRIPT'].includes(el.tagName) && visible(el)) add(node.textContent ?? '');
    }
    for (const el of document.querySelectorAll('[placeholder], [title], [aria-label], option')) {
      if (el.closest('[translate="no"]')) continue;
      if (el.tagName === 'OPTION' ? !visible(el.closest('select')) : !visible(el)) continue;
      if (el.tagName === 'OPTION') add(el.textContent ?? '');
      for (const attr of ['placeholder', 'title', 'aria-label']) add(el.getAttribute(attr) ?? '');
    }
    return [...words];
  });
}

async function main() {
  const session = await openSession(chromium, { name: 'admin' });
  const { server, base, consoleErrors } = session;
  page = session.page;
  try {
    page.on('dialog', (d) => void d.accept());

    await step('admin: the console opens on the users page', async () => {
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-admin').click();
      await page.waitForURL(/\/admin\/users\/$/);
      await page.locator(`[data-testid=user-row][data-username="${USERS.doctor.username}"]`).waitFor();
      for (const tab of ['users', 'roles', 'audit', 'hl7', 'apiKeys', 'system']) {
        assert(await page.getByTestId(`admin-tab-${tab}`).isVisible(), `${tab} tab shown`);
      }
    });

    await step('users: create an account, refused then accepted password, roles', async () => {
      await page.getByTestId('user-add').click();
      const dialog = page.getByTestId('user-dialog');
      await dialog.locator('input[name=username]').fill(NEW_USER.username);
      await dialog.locator('input[name=display_name]').fill('新医生');
      await dialog.locator('input[name=password]').fill('short');
      await dialog.locator('input[name=role-doctor]').check();
      await page.getByTestId('user-save').click();
      const error = (await page.getByTestId('user-error').textContent()) ?? '';
      assert(error.includes('至少 10 个字符'), `policy in Chinese: ${error}`);
      await dialog.locator('input[name=password]').fill(NEW_USER.initial);
      await page.getByTestId('user-save').click();
      await dialog.waitFor({ state: 'detached' });
      const row = page.locator(`[data-testid=user-row][data-username="${NEW_USER.username}"]`);
      await row.locator('[data-state=mustChange]').waitFor();
      assert(((await row.textContent()) ?? '').includes('医生'), 'role shown in Chinese');
      await shot('a01-users');
    });

    await step('roles: built-in read-only; a custom role from a whole group', async () => {
      await page.getByTestId('admin-tab-roles').click();
      await page.locator('[data-testid=role-row][data-role=doctor] [data-testid=role-open]').click();
      await page.getByTestId('role-readonly').waitFor();
      // The catalogue arrives after the dialog opens: wait for every permission's box.
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=permission-picker] input[name*=":"]').length > 20);
      assert((await page.locator('[data-testid=permission-picker] input:not([disabled])').count()) === 0, 'read-only');
      assert((await page.getByTestId('role-save').count()) === 0, 'no save button');
      assert(await page.locator('input[name="image:send"]').isChecked(), 'doctors send to devices');
      await page.getByTestId('role-close').click();
      await page.getByTestId('role-add').click();
      await page.locator('[data-testid=role-dialog] input[name=name]').fill('reviewer');
      await page.locator('[data-testid=permission-group][data-resource=report] legend input').check();
      await page.locator('input[name="image:read"]').check();
      await page.getByTestId('role-save').click();
      const row = page.locator('[data-testid=role-row][data-role=reviewer]');
      await row.waitFor();
      assert(((await row.textContent()) ?? '').includes('6'), `5 report permissions (report:qc included) + image:read: ${await row.textContent()}`);
      await shot('a02-roles');
    });

    await step('users: give the new account the custom role', async () => {
      await page.getByTestId('admin-tab-users').click();
      const row = page.locator(`[data-testid=user-row][data-username="${NEW_USER.username}"]`);
      await row.getByTestId('user-edit').click();
      await page.locator('[data-testid=user-dialog] input[name=role-reviewer]').check();
      await page.getByTestId('user-save').click();
      await page.getByTestId('user-dialog').waitFor({ state: 'detached' });
      await page.waitForFunction((u) => /reviewer/.test(document.querySelector(`[data-testid=user-row][data-username="${u}"]`)?.textContent ?? ''), NEW_USER.username);
    });

    await step('users: a locked account is unlocked from the page', async () => {
      for (let i = 0; i < 5; i += 1) await apiLogin(base, USERS.nurse.username, 'wrong-password-x');
      assert((await apiLogin(base, USERS.nurse.username, USERS.nurse.password)).status === 423, 'nurse locked');
      await page.goto(`${base}/admin/users/`);
      const row = page.locator(`[data-testid=user-row][data-username="${USERS.nurse.username}"]`);
      await row.locator('[data-state=locked]').waitFor();
      await row.getByTestId('user-unlock').click();
      await row.locator('[data-state=locked]').waitFor({ state: 'detached' });
      assert((await apiLogin(base, USERS.nurse.username, USERS.nurse.password)).status === 200, 'nurse logs in again');
    });

    await step('audit: filter, page, verify the chain, export CSV', async () => {
      await page.getByTestId('admin-tab-audit').click();
      await page.getByTestId('audit-row').first().waitFor();
      await page.locator('[data-testid=audit-filters] input[name=action]').fill('user.create');
      await page.getByTestId('audit-search').click();
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('[data-testid=audit-row]')];
        return rows.length > 0 && rows.every((r) => r.getAttribute('data-action') === 'user.create');
      });
      await page.locator('[data-testid=audit-filters] input[name=action]').fill('');
      await page.locator('[data-testid=audit-filters] select[name=outcome]').selectOption('4');
      await page.getByTestId('audit-search').click();
      await page.waitForFunction(() => {
        const rows = [...document.querySelectorAll('[data-testid=audit-row]')];
        return rows.length >= 5 && rows.every((r) => r.getAttribute('data-outcome') === '4');
      });
      const pageText = (await page.getByTestId('audit-page').textContent()) ?? '';
      assert(/第 1–\d+ 条，共 \d+ 条/.test(pageText), `page label: ${pageText}`);
      await page.getByTestId('audit-verify').click();
      const verified = page.getByTestId('audit-verify-result');
      await verified.waitFor();
      assert((await verified.getAttribute('data-ok')) === 'true', `chain intact: ${await verified.textContent()}`);
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('audit-csv').click()]);
      const csv = readFileSync(await download.path(), 'utf8');
      const lines = csv.replace(/^\ufeff/, '').trim().split('\n');
      assert(lines[0].startsWith('seq,occurred_at,action'), `CSV header: ${lines[0]}`);
      assert(lines.length >= 6 && lines.slice(1).every((l) => l.includes(',auth.login,') || l.includes(',access.denied,') || l.includes(',auth.')), 'filtered rows');
      await shot('a03-audit');
    });

    await step('API keys: created and shown once, then revoked', async () => {
      await page.getByTestId('admin-tab-apiKeys').click();
      await page.getByTestId('key-add').click();
      await page.locator('[data-testid=key-dialog] input[name=name]').fill('peer-pacs');
      await page.locator('[data-testid=key-dialog] select[name=role]').selectOption('technician');
      await page.getByTestId('key-save').click();
      const key = ((await page.getByTestId('key-secret').textContent()) ?? '').trim();
      const r = await fetch(`${base}/api/auth/me`, { headers: { Authorization: `Bearer ${key}` } });
      assert(r.status === 200, `the key works: ${r.status}`);
      await page.getByTestId('key-done').click();
      const row = page.locator('[data-testid=key-row][data-name=peer-pacs]');
      assert((await row.getAttribute('data-state')) === 'active', 'active');
      await row.getByTestId('key-revoke').click();
      await page.locator('[data-testid=key-row][data-name=peer-pacs][data-state=revoked]').waitFor();
      // Refused at once by the process that revoked it, by the others within their 5 s cache.
      let status = 0;
      for (const until = Date.now() + 15000; Date.now() < until; ) {
        status = (await fetch(`${base}/api/auth/me`, { headers: { Authorization: `Bearer ${key}` } })).status;
        if (status === 401) break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert(status === 401, `revoked key refused: ${status}`);
    });

    await step('system status: parts, disk, queue, listener, masked settings', async () => {
      await page.getByTestId('admin-tab-system').click();
      await page.getByTestId('system-checks').waitFor();
      assert((await page.getByTestId('system-ready').getAttribute('data-ready')) === 'true', 'ready');
      assert((await page.locator('[data-testid=system-check][data-name=database]').getAttribute('data-ok')) === 'true', 'database ok');
      assert(/可用 \d/.test((await page.getByTestId('system-disk-free').textContent()) ?? ''), 'free space shown');
      assert(/待处理 \d+ 个/.test((await page.getByTestId('system-backlog-pending').textContent()) ?? ''), 'backlog shown');
      assert((await page.getByTestId('system-dicom-state').getAttribute('data-state')) === 'disabled', 'listener off in this server');
      const secret = page.locator('[data-testid=system-setting][data-key=secret_key] td').nth(1);
      const value = ((await secret.textContent()) ?? '').trim();
      assert(value === '********' || value === '—', `secret masked: ${value}`);
      const token = readFileSync(path.join(server.dataDir, 'secrets', 'token.key'), 'utf8').trim();
      assert(!((await page.content()).includes(token)), 'the token key appears nowhere');
      await shot('a04-system');
      await signOut();
    });

    await step('first login: the admin-set password must be changed first', async () => {
      await signIn(base, { username: NEW_USER.username }, NEW_USER.initial, /\/account\/\?next=/);
      await page.getByTestId('password-forced').waitFor();
      await page.goto(`${base}/studies/`);
      await page.waitForURL(/\/account\/\?next=/); // every other page sends them back
      const form = page.getByTestId('password-form');
      await form.locator('input[name=current_password]').fill(NEW_USER.initial);
      await form.locator('input[name=new_password]').fill(NEW_USER.own);
      await form.locator('input[name=repeat_password]').fill(`${NEW_USER.own}x`);
      await page.getByTestId('password-submit').click();
      assert(((await page.getByTestId('password-error').textContent()) ?? '').includes('不一致'), 'mismatch caught');
      await form.locator('input[name=repeat_password]').fill(NEW_USER.own);
      await shot('a05-first-login');
      await page.getByTestId('password-submit').click();
      await page.waitForURL(/\/studies\/$/);
      await page.getByTestId('study-table').waitFor();
      assert((await page.getByTestId('nav-admin').count()) === 0, 'no console for a reviewer+doctor');
      await signOut();
      assert((await apiLogin(base, NEW_USER.username, NEW_USER.initial)).status === 401, 'old password gone');
    });

    await step('roles: doctors and nurses have no console', async () => {
      for (const user of [USERS.doctor, USERS.nurse]) {
        await signIn(base, user);
        assert((await page.getByTestId('nav-admin').count()) === 0, `${user.role}: no admin link`);
        await page.goto(`${base}/admin/users/`);
        await page.getByTestId('forbidden').waitFor();
        assert((await page.getByTestId('user-table').count()) === 0, `${user.role}: no user table`);
        await page.goto(`${base}/admin/`);
        await page.getByTestId('forbidden').waitFor();
        await page.goto(`${base}/account/`);
        await page.getByTestId('password-form').waitFor(); // everyone changes their own password
        await page.goto(`${base}/studies/`);
        await signOut();
      }
    });

    await step('/docs renders with no other host reachable', async () => {
      const outside = [];
      await page.route('**/*', (route) => {
        const url = new URL(route.request().url());
        if (url.hostname === '127.0.0.1') return route.continue();
        outside.push(url.href);
        return route.abort();
      });
      await page.goto(`${base}/docs`);
      await page.locator('.swagger-ui .info .title').waitFor();
      assert(((await page.locator('.swagger-ui .info .title').textContent()) ?? '').includes('Hounsfield'), 'title rendered');
      await page.locator('.opblock').first().waitFor();
      assert(outside.length === 0, `requests to other hosts: ${outside.join(', ')}`);
      await page.unroute('**/*');
    });

    await step('zh-CN: no English words on any page', async () => {
      await signIn(base, USERS.admin);
      const pages = [
        '/studies/', '/patients/', '/orders/', '/statistics/', '/upload/', '/devices/', '/ai/', '/critical/', '/reports/peer-review/',
        '/admin/users/', '/admin/roles/', '/admin/audit/', '/admin/hl7/', '/admin/api-keys/', '/admin/studies/',
        '/admin/query-retrieve/', '/admin/system/', '/account/',
        '/no-such-page/',
      ];
      const found = {};
      for (const p of pages) {
        await page.goto(`${base}${p}`);
        await settled();
        const words = (await englishWords()).filter((w) => !ALLOWED_ENGLISH.has(w.toLowerCase()));
        if (words.length) found[p] = words;
      }
      await page.goto(`${base}/studies/`);
      await signOut();
      const loginWords = (await englishWords()).filter((w) => !ALLOWED_ENGLISH.has(w.toLowerCase()));
      if (loginWords.length) found['/login/'] = loginWords;
      assert(Object.keys(found).length === 0, `English in zh-CN mode: ${JSON.stringify(found)}`);
    });

    // Studies (after the zh-CN scan: the uploaded zip holds a study with English HTML strings).
    const studyPatient = `ADM${Date.now() % 100000}`;
    let study;
    let admin;
    const studyRow = () => page.locator(`[data-testid=admin-study-row][data-patient-id="${studyPatient}"]`);
    const seriesOf = async () =>
      (await (await fetch(`${base}/api/studies/${encodeURIComponent(study.study_instance_uid)}`, { headers: admin })).json()).series;
    async function findStudy() {
      await page.getByTestId('admin-study-search').locator('input[name=q]').fill(studyPatient);
      await page.getByTestId('admin-study-submit').click();
      await studyRow().waitFor();
    }

    await step('studies: admin deletes one series after confirming; cancelling deletes nothing', async () => {
      const zip = path.join(session.scratch, 'admin-study.zip');
      const made = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), zip, studyPatient, '3'], { encoding: 'utf8' });
      assert(made.status === 0, `zip built: ${made.stderr}`);
      admin = await bearer(base, USERS.admin);
      const form = new FormData();
      form.append('files', new Blob([readFileSync(zip)], { type: 'application/zip' }), 'study.zip');
      assert((await fetch(`${base}/api/uploads`, { method: 'POST', headers: admin, body: form })).ok, 'uploaded');
      study = (await (await fetch(`${base}/api/studies?patient_id=${studyPatient}`, { headers: admin })).json()).items[0];
      assert(study?.number_of_series === 2, `2 series: ${JSON.stringify(study)}`);
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-admin').click();
      await page.getByTestId('admin-tab-studies').click();
      await page.waitForURL(/\/admin\/studies\/$/);
      await findStudy();
      await studyRow().getByTestId('study-series-toggle').click();
      const mr = page.locator('[data-testid=series-row][data-modality=MR]');
      await mr.getByTestId('series-delete').click();
      const dialog = page.getByTestId('study-delete-dialog');
      await dialog.waitFor();
      const text = (await dialog.textContent()) ?? '';
      assert(text.includes('王小明') && text.includes(studyPatient) && text.includes('2024-01-05') && text.includes('CT CHEST E2E'), `names patient, date, description: ${text}`);
      assert((await page.getByTestId('delete-instances').textContent()) === '1', 'names the instances of the series');
      assert(await page.getByTestId('delete-confirm').isDisabled(), 'confirm needs the box ticked');
      await page.getByTestId('delete-cancel').click();
      await dialog.waitFor({ state: 'detached' });
      assert((await seriesOf()).length === 2, 'cancel deleted nothing');
      await mr.getByTestId('series-delete').click();
      await page.getByTestId('delete-ack').check();
      await page.getByTestId('delete-confirm').click();
      await dialog.waitFor({ state: 'detached' });
      await mr.waitFor({ state: 'detached' });
      const left = await seriesOf();
      assert(left.length === 1 && left[0].modality === 'CT', `one series fewer: ${JSON.stringify(left)}`);
      await page.waitForFunction(
        (pid) => document.querySelector(`[data-testid=admin-study-row][data-patient-id="${pid}"] [data-testid=admin-study-series-count]`)?.textContent === '1',
        studyPatient,
      );
      await shot('admin-studies');
    });

    await step('studies: a de-identified export downloads a zip without the patient name', async () => {
      await studyRow().getByTestId('study-export').click();
      await page.getByTestId('study-export-dialog').waitFor();
      assert(await page.locator('input[name=deidentify]').isChecked(), 'de-identified by default');
      const [download] = await Promise.all([page.waitForEvent('download'), page.getByTestId('export-download').click()]);
      const file = path.join(session.scratch, 'deid.zip');
      await download.saveAs(file);
      assert(download.suggestedFilename().endsWith('-deidentified.zip'), `name: ${download.suggestedFilename()}`);
      const check = spawnSync(PYTHON, ['-c', [
        'import io, sys, zipfile',
        'from pydicom import dcmread',
        'z = zipfile.ZipFile(sys.argv[1])',
        "names = [n for n in z.namelist() if n.endswith('.dcm')]",
        'bad = []',
        'for n in names:',
        '    raw = z.read(n)',
        '    ds = dcmread(io.BytesIO(raw))',
        "    if '王' in str(ds.get('PatientName', '')) or '王'.encode() in raw or sys.argv[2].encode() in raw:",
        '        bad.append(n)',
        'print(len(names), len(bad))',
      ].join('\n'), file, studyPatient], { encoding: 'utf8' });
      assert(check.status === 0, `zip read: ${check.stderr}`);
      assert(check.stdout.trim() === '3 0', `3 DICOM files, none with the name or ID: ${check.stdout}`);
      await page.getByTestId('study-export-dialog').waitFor({ state: 'detached' });
    });

    await step('studies: a refusal of the server is shown in words', async () => {
      await studyRow().getByTestId('study-delete').click();
      await page.getByTestId('delete-ack').check();
      // Deleted meanwhile (another administrator): the dialog's delete is refused, 404.
      const gone = await fetch(`${base}/api/studies/${encodeURIComponent(study.study_instance_uid)}`, { method: 'DELETE', headers: admin });
      assert(gone.status === 204, `deleted through the API: ${gone.status}`);
      await page.getByTestId('delete-confirm').click();
      const error = (await page.getByTestId('delete-error').textContent()) ?? '';
      assert(error.includes('没有该检查') && !error.includes('study_not_found'), `refusal in words: ${error}`);
      await page.getByTestId('delete-cancel').click();
      await signOut();
    });

    await step('studies: a doctor (no image:delete) may export but sees no delete button', async () => {
      const other = `ADD${Date.now() % 100000}`;
      const zip = path.join(session.scratch, 'doctor-study.zip');
      assert(spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), zip, other, '1']).status === 0, 'zip built');
      const form = new FormData();
      form.append('files', new Blob([readFileSync(zip)], { type: 'application/zip' }), 'study.zip');
      assert((await fetch(`${base}/api/uploads`, { method: 'POST', headers: admin, body: form })).ok, 'uploaded');
      await signIn(base, USERS.doctor);
      await page.goto(`${base}/admin/studies/`);
      await page.getByTestId('admin-study-search').locator('input[name=q]').fill(other);
      await page.getByTestId('admin-study-submit').click();
      const row = page.locator(`[data-testid=admin-study-row][data-patient-id="${other}"]`);
      await row.waitFor();
      assert((await row.getByTestId('study-export').count()) === 1, 'export for image:export');
      assert((await page.getByTestId('study-delete').count()) === 0, 'no study delete button');
      await row.getByTestId('study-series-toggle').click();
      await page.getByTestId('series-row').first().waitFor();
      assert((await page.getByTestId('series-delete').count()) === 0, 'no series delete button');
      assert((await page.getByTestId('nav-admin').count()) === 0, 'still no console entry for a doctor');
      await signOut();
    });

    await step('server messages follow Accept-Language', async () => {
      const zh = await (await apiLogin(base, 'nobody-here', 'wrong-password-x')).json();
      const r = await fetch(`${base}/api/auth/login`, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'Accept-Language': 'en-US,en;q=0.9' },
        body: JSON.stringify({ username: 'nobody-here', password: 'wrong-password-x' }),
      });
      const en = await r.json();
      assert(/[\u4e00-\u9fff]/.test(zh.error.message), `Chinese by default: ${zh.error.message}`);
      assert(!/[\u4e00-\u9fff]/.test(en.error.message), `English on request: ${en.error.message}`);
    });

    await step('admin: no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'admin browser steps');
}

runMain(main);
