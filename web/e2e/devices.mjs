// Browser tests of the device pages: Debian's chromium driven by playwright-core against a
// throw-away `hounsfield serve` and a real dcmtk storescp (AE DEST) on a free port.
// Run alone with `node e2e/devices.mjs` (needs web/out); run.mjs runs it after its own steps.
// Exit code 0 when every step passed, 1 otherwise. Screenshots go to test-artifacts/ (repo root).
import { spawn, spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { apiLogin, ARTIFACTS, assert, closeSession, finish, freePort, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';

let page;
const { results, step, failed } = stepRunner({
  prefix: 'failure-devices-',
  artifacts: ARTIFACTS,
  currentPage: () => page,
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

async function waitPort(port, child, timeoutMs = 15000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`storescp exited with ${child.exitCode}`);
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => {
        s.destroy();
        resolve(true);
      });
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`storescp did not listen on ${port}`);
}

/** dcmtk's storescp as the destination device, writing what it receives into `dir`. */
async function startStoreScp(dir) {
  const port = await freePort();
  const child = spawn('/usr/bin/storescp', ['--aetitle', 'DEST', '--output-directory', dir, String(port)], {
    env: { ...process.env, TCP_NODELAY: '1' },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  await waitPort(port, child);
  return {
    port,
    logs: () => stderr,
    files: () => readdirSync(dir).filter((f) => !f.startsWith('.')),
    stop: () => stopChild(child),
  };
}

/** Stops a child with SIGTERM (SIGKILL after 5 s). */
async function stopChild(child) {
  if (child.exitCode !== null) return;
  child.kill('SIGTERM');
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r();
    }, 5000);
    child.on('exit', () => {
      clearTimeout(t);
      r();
    });
  });
}

/**
 * dcmtk's dcmqrscp as a remote PACS (AE REMOTE) holding one study of its own (2 CT images of
 * patient `patientId`, stored into it with storescu); its C-MOVEs go to our listener (HOUNSFIELD).
 */
async function startRemotePacs(dir, ourDicomPort, patientId) {
  const port = await freePort();
  const db = path.join(dir, 'db');
  mkdirSync(db, { recursive: true });
  const cfg = path.join(dir, 'dcmqrscp.cfg');
  writeFileSync(
    cfg,
    [
      `NetworkTCPPort = ${port}`, 'MaxPDUSize = 16384', 'MaxAssociations = 16',
      'HostTable BEGIN', `hounsfield = (HOUNSFIELD, 127.0.0.1, ${ourDicomPort})`, 'HostTable END',
      'VendorTable BEGIN', 'VendorTable END',
      'AETable BEGIN', `REMOTE ${db} RW (100, 1024mb) ANY`, 'AETable END', '',
    ].join('\n'),
  );
  const made = spawnSync(PYTHON, ['-c', [
    'import sys',
    'from pydicom import dcmread',
    'from pydicom.data import get_testdata_file',
    'from pydicom.uid import generate_uid',
    'study, series = generate_uid(), generate_uid()',
    'for i in range(2):',
    "    ds = dcmread(get_testdata_file('CT_small.dcm'))",
    "    ds.SpecificCharacterSet = 'ISO_IR 192'",
    "    ds.PatientName, ds.PatientID = '李^远程', sys.argv[2]",
    "    ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID = study, series, generate_uid()",
    "    ds.InstanceNumber, ds.StudyDescription, ds.AccessionNumber = i + 1, 'REMOTE CT', 'RACC1'",
    "    ds.save_as(f'{sys.argv[1]}/remote-{i}.dcm')",
    'print(study)',
  ].join('\n'), dir, patientId], { encoding: 'utf8' });
  assert(made.status === 0, `remote files built: ${made.stderr}`);
  const child = spawn('/usr/bin/dcmqrscp', ['-c', cfg, String(port)], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-4000);
  });
  await waitPort(port, child);
  const files = [0, 1].map((i) => path.join(dir, `remote-${i}.dcm`));
  const stored = spawnSync('/usr/bin/storescu', ['-aec', 'REMOTE', '127.0.0.1', String(port), ...files], { encoding: 'utf8' });
  assert(stored.status === 0, `storescu into dcmqrscp: ${stored.stderr}`);
  return { port, studyUid: made.stdout.trim(), logs: () => stderr, stop: () => stopChild(child) };
}

/** One study (12 CT slices + 1 MR) uploaded through the API; returns its UID and instance count. */
async function seedStudy(base, zipPath, patientId) {
  const made = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), zipPath, patientId, '12'], { encoding: 'utf8' });
  assert(made.status === 0, `zip built: ${made.stderr}`);
  const login = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: USERS.admin.username, password: USERS.admin.password }),
  });
  assert(login.ok, `API login: ${login.status}`);
  const headers = { Authorization: `Bearer ${(await login.json()).access_token}` };
  const form = new FormData();
  form.append('files', new Blob([readFileSync(zipPath)], { type: 'application/zip' }), 'study.zip');
  const up = await fetch(`${base}/api/uploads`, { method: 'POST', headers, body: form });
  assert(up.ok, `upload: ${up.status}`);
  const found = await fetch(`${base}/api/studies?patient_id=${patientId}`, { headers });
  const { items } = await found.json();
  assert(items.length === 1, `one study for ${patientId}: ${items.length}`);
  return { uid: items[0].study_instance_uid, instances: items[0].number_of_instances };
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

async function signOut() {
  await page.getByTestId('logout').click();
  await page.waitForURL(/\/login\//);
}

const row = (ae) => page.locator(`[data-testid=device-row][data-ae-title="${ae}"]`);

async function fillDevice(values) {
  const form = page.getByTestId('device-form');
  for (const [name, value] of Object.entries(values)) {
    await form.locator(`input[name=${name}]`).fill(value);
  }
}

async function main() {
  // The DIMSE listener is on: query/retrieve moves a study from dcmqrscp to it.
  const session = await openSession(chromium, {
    name: 'devices',
    viewport: { width: 1366, height: 768 },
    serverEnv: { HOUNSFIELD_DICOM__ENABLED: 'true' },
  });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  const received = path.join(scratch, 'storescp');
  mkdirSync(received);
  let storescp;
  let remote;
  try {
    storescp = await startStoreScp(received);
    const patientId = `DEV${Date.now() % 100000}`;
    let study;

    await step('devices: a study is in the archive', async () => {
      study = await seedStudy(base, path.join(scratch, 'study.zip'), patientId);
      assert(study.instances === 13, `13 instances: ${study.instances}`);
    });

    await step('devices: admin sees the devices entry and an empty registry', async () => {
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-devices').click();
      await page.waitForURL(/\/devices\/$/);
      await page.getByTestId('no-devices').waitFor();
      assert(await page.getByTestId('device-add').isVisible(), 'add button for device:manage');
    });

    await step('devices: the form checks AE title, host and port before sending', async () => {
      await page.getByTestId('device-add').click();
      await page.getByTestId('device-dialog').waitFor();
      await fillDevice({ ae_title: 'ABCDEFGHIJKLMNOPQ', host: '169.254.169.254', port: '70000' });
      await page.getByTestId('device-save').click();
      const text = async (f) => (await page.getByTestId(`device-error-${f}`).textContent()) ?? '';
      assert((await text('ae_title')).includes('16'), `AE title too long: ${await text('ae_title')}`);
      assert((await text('host')).includes('不允许'), `metadata address refused: ${await text('host')}`);
      assert((await text('port')).includes('65535'), `port range: ${await text('port')}`);
      await fillDevice({ ae_title: 'CT\\1' });
      await page.getByTestId('device-save').click();
      assert((await text('ae_title')).includes('反斜杠'), `backslash refused: ${await text('ae_title')}`);
      await shot('devices-01-form-checks');
    });

    await step('devices: a refusal of the server is shown on its field (422, IPv4-mapped link-local)', async () => {
      // The browser lets this spelling through; the server refuses it (SECURITY I11).
      await fillDevice({ ae_title: 'DEST', host: '::ffff:169.254.169.254', port: String(storescp.port) });
      const response = page.waitForResponse((r) => r.url().endsWith('/api/devices') && r.request().method() === 'POST');
      await page.getByTestId('device-save').click();
      assert((await response).status() === 422, 'server refused the host');
      const msg = (await page.getByTestId('device-error-host').textContent()) ?? '';
      assert(msg.includes('不允许'), `server refusal in words: ${msg}`);
    });

    await step('devices: create the storescp as DEST and see it listed', async () => {
      await fillDevice({ host: '127.0.0.1', modality: 'WSD', department: '放射科', description: 'dcmtk storescp' });
      await page.getByTestId('device-save').click();
      await page.getByTestId('device-dialog').waitFor({ state: 'detached' });
      await row('DEST').waitFor();
      const text = (await row('DEST').textContent()) ?? '';
      assert(text.includes(`127.0.0.1:${storescp.port}`), `host:port shown: ${text}`);
      assert(text.includes('放射科') && text.includes('WSD') && text.includes('存储'), `department, modality, store: ${text}`);
    });

    await step('devices: a duplicate AE title is refused in words (409)', async () => {
      await page.getByTestId('device-add').click();
      await fillDevice({ ae_title: 'DEST', host: '10.1.2.3', port: '104' });
      const response = page.waitForResponse((r) => r.url().endsWith('/api/devices') && r.request().method() === 'POST');
      await page.getByTestId('device-save').click();
      assert((await response).status() === 409, 'conflict');
      const msg = (await page.getByTestId('device-error-ae_title').textContent()) ?? '';
      assert(msg.includes('已有其他设备'), `duplicate in words: ${msg}`);
      // Another title: a device where nothing listens (for a failing echo, then deletion).
      await fillDevice({ ae_title: 'NOBODY', host: '127.0.0.1', port: String(await freePort()) });
      await page.getByTestId('device-save').click();
      await page.getByTestId('device-dialog').waitFor({ state: 'detached' });
      await row('NOBODY').waitFor();
    });

    await step('devices: echo succeeds on DEST with its round-trip time, fails on NOBODY', async () => {
      await row('DEST').getByTestId('device-echo').click();
      const ok = row('DEST').getByTestId('echo-result');
      await ok.waitFor();
      assert((await ok.getAttribute('data-success')) === 'true', `echo DEST: ${await ok.textContent()}`);
      assert(/成功，\d+(\.\d)? 毫秒/.test((await ok.textContent()) ?? ''), `round trip shown: ${await ok.textContent()}`);
      await row('NOBODY').getByTestId('device-echo').click();
      const bad = row('NOBODY').getByTestId('echo-result');
      await bad.waitFor();
      assert((await bad.getAttribute('data-success')) === 'false', `echo NOBODY fails: ${await bad.textContent()}`);
      await shot('devices-02-list-echo');
    });

    await step('devices: edit a device', async () => {
      await row('NOBODY').getByTestId('device-edit').click();
      await page.getByTestId('device-dialog').waitFor();
      // Strings that look like HTML stay text (SECURITY I8).
      await fillDevice({ department: 'ICU<img src=x onerror=window.__x=1>' });
      await page.getByTestId('device-form').locator('input[name=enabled]').uncheck();
      await page.getByTestId('device-save').click();
      await page.getByTestId('device-dialog').waitFor({ state: 'detached' });
      await page.waitForFunction(() => document.querySelector('[data-testid=device-row][data-ae-title=NOBODY]')?.textContent?.includes('ICU'));
      assert(((await row('NOBODY').getByTestId('device-enabled').textContent()) ?? '').includes('停用'), 'shown disabled');
      assert(((await row('NOBODY').textContent()) ?? '').includes('<img src=x'), 'department shown as text');
      assert((await page.locator('img[src=x]').count()) === 0, 'no <img> element from the department');
      assert((await page.evaluate(() => window.__x)) === undefined, 'no script ran');
    });

    await step('devices: delete asks first, then removes the row', async () => {
      await row('NOBODY').getByTestId('device-delete').click();
      const dialog = page.getByTestId('device-delete-dialog');
      await dialog.waitFor();
      assert(((await dialog.textContent()) ?? '').includes('NOBODY'), 'confirmation names the device');
      await dialog.getByText('取消').click();
      await dialog.waitFor({ state: 'detached' });
      assert((await row('NOBODY').count()) === 1, 'cancel keeps it');
      await row('NOBODY').getByTestId('device-delete').click();
      await page.getByTestId('device-delete-confirm').click();
      await row('NOBODY').waitFor({ state: 'detached' });
      assert((await page.getByTestId('device-row').count()) === 1, 'DEST remains');
      await row('DEST').getByTestId('device-echo').click();
      await row('DEST').locator('[data-testid=echo-result][data-success=true]').waitFor();
      await shot('devices');
    });

    await step('devices: English labels', async () => {
      await page.getByTestId('locale-switch').selectOption('en');
      await page.getByText('DICOM devices').waitFor();
      assert(((await row('DEST').textContent()) ?? '').includes('Store'), 'operation in English');
      await page.getByTestId('locale-switch').selectOption('zh-CN');
    });

    await step('send: the study goes to DEST from the viewer, job completes, files arrive', async () => {
      await page.goto(`${base}/viewer/?study=${encodeURIComponent(study.uid)}`);
      await page.getByTestId('send-to-device').click();
      await page.getByTestId('send-dialog').waitFor();
      await page.locator('[data-testid=send-device] option').first().waitFor({ state: 'attached' });
      const options = await page.getByTestId('send-device').locator('option').allTextContents();
      assert(options.length === 1 && options[0].includes('DEST'), `only DEST offered: ${options}`);
      await page.getByTestId('send-submit').click();
      await page.waitForFunction(
        () => ['completed', 'partial', 'failed'].includes(document.querySelector('[data-testid=send-job]')?.getAttribute('data-status') ?? ''),
        undefined,
        { timeout: 60000 },
      );
      const job = page.getByTestId('send-job');
      const progress = (await page.getByTestId('send-progress').textContent()) ?? '';
      assert((await job.getAttribute('data-status')) === 'completed', `job completed: ${progress}`);
      assert(progress.includes(`${study.instances} / ${study.instances}`), `progress ${study.instances}/${study.instances}: ${progress}`);
      await shot('devices-03-send-completed');
      const files = storescp.files();
      assert(files.length === study.instances, `${study.instances} files in storescp's folder, got ${files.length}: ${storescp.logs()}`);
      const dump = spawnSync('/usr/bin/dcmdump', ['+P', 'StudyInstanceUID', path.join(received, files[0])], { encoding: 'utf8' });
      assert(dump.stdout.includes(study.uid), `received file belongs to the study: ${dump.stdout}`);
      await page.getByTestId('send-close').click();
      await signOut();
    });

    const remotePatient = `RQ${Date.now() % 100000}`;
    const remoteRow = () => page.getByTestId('qr-row');
    async function queryRemote() {
      await page.getByTestId('qr-device').selectOption({ label: `REMOTE — 127.0.0.1:${remote.port}` });
      await page.getByTestId('qr-form').locator('input[name=patientId]').fill(remotePatient);
      await page.getByTestId('qr-search').click();
      await page.getByTestId('qr-count').waitFor();
    }

    await step('query/retrieve: a study found on a remote PACS (dcmqrscp) is retrieved and opens locally', async () => {
      remote = await startRemotePacs(path.join(scratch, 'remote'), session.server.dicomPort, remotePatient);
      const headers = await apiLogin(base, USERS.admin);
      const made = await fetch(`${base}/api/devices`, {
        method: 'POST',
        headers: { ...headers, 'Content-Type': 'application/json' },
        body: JSON.stringify({ ae_title: 'REMOTE', host: '127.0.0.1', port: remote.port, operations: ['store'], description: 'dcmqrscp' }),
      });
      assert(made.status === 201, `REMOTE registered: ${made.status}`);
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-devices').click();
      await page.getByTestId('devices-query-retrieve').click();
      await page.waitForURL(/\/admin\/query-retrieve\/$/);
      await queryRemote();
      assert((await remoteRow().count()) === 1, `one remote match: ${await page.getByTestId('qr-count').textContent()}`);
      const text = (await remoteRow().textContent()) ?? '';
      assert(text.includes('李远程') && text.includes(remotePatient) && text.includes('RACC1'), `match shown: ${text}`);
      assert((await remoteRow().getAttribute('data-study-uid')) === remote.studyUid, 'the remote study');
      const before = await fetch(`${base}/api/studies?patient_id=${remotePatient}`, { headers });
      assert((await before.json()).total === 0, 'not local before the retrieve');
      await remoteRow().getByTestId('qr-retrieve').click();
      await page.waitForFunction(
        () => ['completed', 'partial', 'failed'].includes(document.querySelector('[data-testid=retrieve-job]')?.getAttribute('data-status') ?? ''),
        undefined,
        { timeout: 60000 },
      );
      const job = page.getByTestId('retrieve-job');
      assert((await job.getAttribute('data-status')) === 'completed', `retrieve completed: ${await job.textContent()} ${remote.logs()}`);
      assert(((await job.textContent()) ?? '').includes('2 / 2'), `progress 2/2: ${await job.textContent()}`);
      await shot('devices-04-query-retrieve');
      const after = await (await fetch(`${base}/api/studies?patient_id=${remotePatient}`, { headers })).json();
      assert(after.total === 1 && after.items[0].number_of_instances === 2, `local now with 2 images: ${JSON.stringify(after)}`);
      await page.getByTestId('retrieved-open').click();
      await page.waitForURL(/\/viewer\//);
      await page.getByTestId('study-header').waitFor();
      await signOut();
    });

    await step('devices: a doctor (device:read only) sees the list without editing', async () => {
      await signIn(base, USERS.doctor);
      await page.getByTestId('nav-devices').click();
      await row('DEST').waitFor();
      assert((await page.getByTestId('device-add').count()) === 0, 'no add button');
      assert((await page.getByTestId('device-edit').count()) === 0, 'no edit button');
      assert((await page.getByTestId('device-delete').count()) === 0, 'no delete button');
      // Query/retrieve: the doctor may search the remote (image:read) but not retrieve (no image:create).
      await page.getByTestId('devices-query-retrieve').click();
      await queryRemote();
      assert((await remoteRow().count()) === 1, 'the doctor sees the remote match');
      assert((await page.getByTestId('qr-retrieve').count()) === 0, 'no retrieve button without image:create');
      await signOut();
    });

    await step('devices: a nurse (no device:read) has no devices entry and no send button', async () => {
      await signIn(base, USERS.nurse);
      assert(await page.getByTestId('nav-studies').isVisible(), 'worklist link shown');
      assert((await page.getByTestId('nav-devices').count()) === 0, 'no devices link for a nurse');
      await page.goto(`${base}/devices/`);
      await page.getByTestId('forbidden').waitFor();
      assert((await page.getByTestId('device-table').count()) === 0, 'no device table');
      await page.goto(`${base}/viewer/?study=${encodeURIComponent(study.uid)}`);
      await page.getByTestId('study-header').waitFor();
      assert((await page.getByTestId('send-to-device').count()) === 0, 'no send button without image:send');
      await signOut();
    });

    await step('devices: no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await storescp?.stop();
    await remote?.stop();
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'device browser steps');
}

runMain(main);
