// Browser tests of the patient, order, worklist and statistics pages: Debian's chromium driven by
// playwright-core against a throw-away `hounsfield serve` with one uploaded study.
// Run alone with `node e2e/patients.mjs` (needs web/out); run.mjs runs it after its own steps.
// Exit code 0 when every step passed, 1 otherwise. Screenshots go to test-artifacts/ (repo root).
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { chromium } from 'playwright-core';
import { apiLogin, ARTIFACTS, assert, closeSession, finish, openSession, PYTHON, REPO, runMain, stepRunner, USERS } from './harness.mjs';

// GB 11643 numbers: a man born 1980-01-01 (check digit 6), and the same with a wrong check digit.
const VALID_ID = '110105198001010016';
const BAD_CHECK_ID = '110105198001010017';
// I8: markup that would set window.__x if it were ever parsed as HTML instead of shown as text.
const XSS = '<img src=x onerror=window.__x=1>';

let page;
const { results, step, failed } = stepRunner({
  prefix: 'failure-patients-',
  artifacts: ARTIFACTS,
  currentPage: () => page,
});

async function shot(name) {
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`) });
}

/** One study (CT slices + an MR) uploaded through the API; returns its UID. */
async function seedStudy(base, headers, zipPath, patientId) {
  const made = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'make_study_zip.py'), zipPath, patientId, '4'], { encoding: 'utf8' });
  assert(made.status === 0, `zip built: ${made.stderr}`);
  const form = new FormData();
  form.append('files', new Blob([readFileSync(zipPath)], { type: 'application/zip' }), 'study.zip');
  const up = await fetch(`${base}/api/uploads`, { method: 'POST', headers, body: form });
  assert(up.ok, `upload: ${up.status}`);
  const found = await (await fetch(`${base}/api/studies?patient_id=${patientId}`, { headers })).json();
  assert(found.items.length === 1, `one study for ${patientId}: ${found.items.length}`);
  return found.items[0].study_instance_uid;
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

const text = async (testId) => (await page.getByTestId(testId).first().textContent()) ?? '';

async function main() {
  const session = await openSession(chromium, { name: 'patients' });
  const { base, scratch, consoleErrors } = session;
  page = session.page;
  try {
    const admin = await apiLogin(base, USERS.admin);
    const dicomPatientId = `P${Date.now() % 100000}`;
    const studyUid = await seedStudy(base, admin, path.join(scratch, 'study.zip'), dicomPatientId);
    let patientId = null;

    await step('patients: an invalid national ID is refused with the Chinese reason', async () => {
      await signIn(base, USERS.admin);
      await page.getByTestId('nav-patients').click();
      await page.getByTestId('patient-table').waitFor();
      await page.getByTestId('patient-add').click();
      const form = page.getByTestId('patient-form');
      await form.locator('input[name=name_ideographic]').fill('张^三丰');
      await form.locator('input[name=name_alphabetic]').fill('Zhang^Sanfeng');
      await form.locator('input[name=national_id]').fill(BAD_CHECK_ID);
      await form.locator('input[name=phone]').fill('13800138000');
      await page.getByTestId('patient-save').click();
      const error = await text('patient-error-national_id');
      assert(error.includes('身份证号校验码错误'), `Chinese check-digit message: ${error}`);
      // The server refuses it too, in Chinese by default, with the contract's code.
      const r = await fetch(`${base}/api/patients`, {
        method: 'POST',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name_ideographic: '张^三丰', national_id: BAD_CHECK_ID }),
      });
      const body = await r.json();
      assert(r.status === 422 && body.error.code === 'national_id_invalid', `server refusal: ${r.status} ${JSON.stringify(body)}`);
      assert(/身份证号/.test(body.error.message), `server message in Chinese: ${body.error.message}`);
      await shot('p01-patient-invalid-id');
    });

    await step('patients: a valid ID is accepted; birth date and sex come from it', async () => {
      const form = page.getByTestId('patient-form');
      await form.locator('input[name=national_id]').fill(VALID_ID);
      assert((await form.locator('input[name=birth_date]').inputValue()) === '1980-01-01', 'birth date from the ID');
      assert((await form.locator('select[name=sex]').inputValue()) === 'M', 'sex from the ID');
      await page.getByTestId('patient-save').click();
      await page.waitForURL(/\/patients\/detail\/\?id=\d+/);
      patientId = new URL(page.url()).searchParams.get('id');
      const title = await text('patient-title');
      assert(title.includes('张三丰') && title.includes('Zhang Sanfeng'), `title: ${title}`);
      assert((await text('patient-national-id')) === VALID_ID, 'an admin sees the full ID');
      await shot('p02-patient-detail');
    });

    await step('patients: search by pinyin initials, name order setting', async () => {
      await page.getByTestId('nav-patients').click();
      await page.getByTestId('patient-q').fill('zsf');
      await page.waitForFunction(() => {
        const rows = document.querySelectorAll('[data-testid=patient-row]');
        return rows.length === 1 && rows[0].textContent.includes('张三丰');
      });
      assert((await text('patient-total')).includes('1'), 'total shown');
      await page.getByTestId('name-order').selectOption('alphabetic');
      await page.waitForFunction(() => document.querySelector('[data-testid=patient-link]')?.textContent === 'Zhang Sanfeng (张三丰)');
      await page.getByTestId('name-order').selectOption('ideographic');
      await page.waitForFunction(() => document.querySelector('[data-testid=patient-link]')?.textContent === '张三丰 (Zhang Sanfeng)');
      await page.getByTestId('patient-q').fill('zsf-nobody');
      await page.getByTestId('no-patients').waitFor();
      await page.getByTestId('patient-q').fill('zsf');
      await page.getByTestId('patient-link').click();
      await page.waitForURL(/\/patients\/detail\//);
      await page.getByTestId('patient-record').waitFor();
    });

    await step('patients: a stale edit gets the 409 shown, nothing overwritten', async () => {
      await page.getByTestId('patient-edit').click();
      const form = page.getByTestId('patient-form');
      await form.locator('input[name=address]').fill('北京市东城区');
      // Someone else saves first.
      const current = await (await fetch(`${base}/api/patients/${patientId}`, { headers: admin })).json();
      const other = await fetch(`${base}/api/patients/${patientId}`, {
        method: 'PATCH',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ version: current.version, notes: '他人修改' }),
      });
      assert(other.ok, `concurrent edit: ${other.status}`);
      await page.getByTestId('patient-save').click();
      const conflict = await text('patient-conflict');
      assert(conflict.includes('已被他人修改'), `conflict message: ${conflict}`);
      await shot('p03-patient-conflict');
      await page.getByTestId('patient-conflict-reload').click();
      await page.getByTestId('patient-dialog').waitFor({ state: 'detached' });
      const after = await (await fetch(`${base}/api/patients/${patientId}`, { headers: admin })).json();
      assert(after.notes === '他人修改' && after.address === '', 'the other change kept, ours not written');
    });

    let accession = '';
    await step('orders: create an order from the patient page', async () => {
      await page.reload();
      await page.getByTestId('order-add').click();
      const form = page.getByTestId('order-form');
      assert((await text('order-patient')).includes('张三丰'), 'the patient is preset');
      await form.locator('input[name=procedure]').fill('胸部CT平扫');
      await form.locator('input[name=body_part]').fill('chest');
      await form.locator('select[name=priority]').selectOption('urgent');
      await page.getByTestId('order-save').click();
      await page.getByTestId('order-dialog').waitFor({ state: 'detached' });
      const row = page.getByTestId('order-row').first();
      await row.waitFor();
      accession = ((await row.getByTestId('order-accession').textContent()) ?? '').trim();
      assert(accession.length > 0, 'an accession number was generated');
      assert(((await row.getByTestId('order-status').textContent()) ?? '').includes('已预约'), 'scheduled');
      // The order list shows it too, and its state moves on.
      await page.getByTestId('nav-orders').click();
      const listed = page.locator('[data-testid=order-row]', { hasText: accession });
      await listed.waitFor();
      await listed.getByTestId('order-to-arrived').click();
      await page.waitForFunction((acc) => [...document.querySelectorAll('[data-testid=order-row]')].some((r) => r.textContent.includes(acc) && r.dataset.status === 'arrived'), accession);
      await shot('p04-orders');
    });

    await step('orders: edit an order; a stale edit gets the 409 shown, nothing overwritten', async () => {
      const listed = page.locator('[data-testid=order-row]', { hasText: accession });
      await listed.getByTestId('order-edit').click();
      const form = page.getByTestId('order-form');
      assert((await text('order-patient')).includes(accession), 'the order being edited is named');
      await form.locator('select[name=priority]').selectOption('stat');
      await page.getByTestId('order-save').click();
      await page.getByTestId('order-dialog').waitFor({ state: 'detached' });
      await page.waitForFunction((acc) => [...document.querySelectorAll('[data-testid=order-row]')].some((r) => r.textContent.includes(acc) && r.textContent.includes('危急')), accession);
      // Someone else saves while our form is open.
      await listed.getByTestId('order-edit').click();
      await form.locator('input[name=ordering_doctor]').fill('王医生');
      const orderId = await listed.getAttribute('data-order-id');
      const current = await (await fetch(`${base}/api/orders/${orderId}`, { headers: admin })).json();
      assert(current.priority === 'stat', `the edit was saved: ${current.priority}`);
      const other = await fetch(`${base}/api/orders/${orderId}`, {
        method: 'PATCH',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ version: current.version, clinical_question: '他人修改' }),
      });
      assert(other.ok, `concurrent edit: ${other.status}`);
      await page.getByTestId('order-save').click();
      const conflict = await text('order-error');
      assert(conflict.includes('已被他人修改'), `conflict message: ${conflict}`);
      await shot('p04b-order-conflict');
      await page.getByTestId('order-dialog').getByRole('button', { name: '取消', exact: true }).click();
      const after = await (await fetch(`${base}/api/orders/${orderId}`, { headers: admin })).json();
      assert(after.clinical_question === '他人修改' && after.ordering_doctor === '', 'the other change kept, ours not written');
    });

    await step('patients: a visit is recorded; the timeline lists it and the order', async () => {
      await page.goto(`${base}/patients/detail/?id=${patientId}`);
      await page.getByTestId('visit-add').click();
      const form = page.getByTestId('visit-form');
      await form.locator('input[name=department]').fill('呼吸内科');
      await form.locator('input[name=diagnosis]').fill('社区获得性肺炎');
      await form.locator('input[name=icd10_code]').fill('18.9');
      await page.getByTestId('visit-save').click();
      assert((await text('visit-error-icd10_code')).includes('ICD-10'), 'malformed ICD-10 code refused');
      await form.locator('input[name=icd10_code]').fill('j18.9');
      await page.getByTestId('visit-save').click();
      await page.getByTestId('visit-form').waitFor({ state: 'detached' });
      await page.locator('[data-testid=timeline-item][data-kind=visit]').first().waitFor();
      await page.locator('[data-testid=timeline-item][data-kind=order]').first().waitFor();
      assert(((await text('timeline')) ?? '').includes('胸部CT平扫'), 'the order is on the timeline');
    });

    await step('worklist: Chinese sex and age, claim shows the lock and its expiry, release', async () => {
      await page.getByTestId('nav-studies').click();
      await page.getByTestId('filter-q').fill(dicomPatientId);
      const row = page.locator(`[data-testid=study-row][data-study-uid="${studyUid}"]`);
      await row.waitFor();
      const sexAge = (await row.getByTestId('sex-age').textContent()) ?? '';
      assert(sexAge === '男 / 44岁', `sex and age in Chinese: ${sexAge}`);
      assert(((await row.getByTestId('read-status').textContent()) ?? '') === '未读', 'unread');
      // Wait for the claim's answer, not only for the lock: a refused or lost claim then
      // fails here with its status instead of as a 30 s wait for a lock.
      const answered = page.waitForResponse((r) => r.url().endsWith('/claim') && r.request().method() === 'POST');
      await row.getByTestId('claim').click();
      const claimed = await answered;
      assert(claimed.status() === 200, `claim answered ${claimed.status()}: ${await claimed.text()}`);
      const lock = row.getByTestId('claim-lock');
      await lock.waitFor();
      assert((await lock.getAttribute('data-mine')) === '1', 'my lock');
      const expiry = (await row.getByTestId('claim-expiry').textContent()) ?? '';
      assert(/^\d+:\d{2}$/.test(expiry) && Number(expiry.split(':')[0]) >= 25, `lock expiry shown: ${expiry}`);
      await page.waitForFunction(() => document.querySelector('[data-testid=status-count-in_reading]')?.textContent === '1');
      await shot('p05-worklist-claimed');
      // Another reader is refused while the lock holds.
      const doctor = await apiLogin(base, USERS.doctor);
      const other = await fetch(`${base}/api/worklist/${encodeURIComponent(studyUid)}/claim`, { method: 'POST', headers: doctor });
      assert(other.status === 409, `second claim refused: ${other.status}`);
      await row.getByTestId('release').click();
      await lock.waitFor({ state: 'detached' });
    });

    await step('worklist: filters and sort survive the viewer round trip; accession prefix; compact rows', async () => {
      await page.getByTestId('filter-accession').fill(`ACC${dicomPatientId.slice(0, 3)}`);
      await page.waitForURL(/accession=ACC/);
      await page.getByTestId('filter-modality').selectOption('CT');
      await page.getByTestId('sort-study_date').click();
      await page.waitForURL(/sort=-study_date/);
      const row = page.locator(`[data-testid=study-row][data-study-uid="${studyUid}"]`);
      await row.waitFor();
      await page.getByTestId('compact-rows').check();
      await page.waitForFunction(() => document.querySelector('[data-testid=study-table]')?.dataset.compact === '1');
      await row.dblclick();
      await page.waitForURL(/\/viewer\/\?study=/);
      await page.getByTestId('study-header').waitFor();
      await page.goBack();
      await page.waitForURL(/\/studies\/\?/);
      await row.waitFor();
      assert((await page.getByTestId('filter-modality').inputValue()) === 'CT', 'modality kept');
      assert((await page.getByTestId('filter-accession').inputValue()).startsWith('ACC'), 'accession kept');
      assert((await text('sort-study_date')).includes('▼'), 'sort kept');
      assert((await page.getByTestId('compact-rows').isChecked()), 'compact rows remembered');
      // The viewer's own back link returns to the same filtered worklist, too.
      await row.dblclick();
      await page.getByTestId('study-header').waitFor();
      await page.getByTestId('back-to-worklist').click();
      await page.waitForURL(/\/studies\/\?.*accession=ACC/);
      assert(new URL(page.url()).searchParams.get('modality') === 'CT', 'back link keeps the modality');
      assert(new URL(page.url()).searchParams.get('sort') === '-study_date', 'back link keeps the sort');
      await row.waitFor();
      await page.getByTestId('filter-accession').fill('ZZZ');
      await page.getByTestId('no-studies').waitFor();
      await page.getByTestId('filter-clear').click();
      await row.waitFor();
    });

    await step('statistics: the charts render', async () => {
      await page.getByTestId('nav-statistics').click();
      for (const chart of ['modality', 'day', 'department', 'turnaround', 'workload', 'source']) {
        await page.locator(`[data-testid=chart-${chart}][data-rendered="1"]`).waitFor();
      }
      const total = Number(await text('stats-total'));
      assert(total >= 1, `studies counted: ${total}`);
      const bars = await page.locator('[data-testid=chart-modality] svg path').count();
      assert(bars >= 2, `the modality chart drew its marks (${bars} paths)`);
      const labels = (await page.getByTestId('chart-modality').textContent()) ?? '';
      assert(labels.includes('CT'), `the modality axis names CT: ${labels}`);
      await shot('p06-statistics');
    });

    await step('patients: merge two records and undo', async () => {
      const created = await fetch(`${base}/api/patients`, {
        method: 'POST',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name_ideographic: '张^三丰', name_alphabetic: 'Zhang^Sanfeng', mrn: 'DUP-1' }),
      });
      assert(created.status === 201, `duplicate record: ${created.status}`);
      await page.goto(`${base}/patients/reconciliation/`);
      await page.getByTestId('merge-panel').waitFor();
      await page.getByTestId('merge-source-q').fill('DUP-1');
      await page.getByTestId('merge-source-option').first().click();
      await page.getByTestId('merge-target-q').fill(VALID_ID);
      await page.getByTestId('merge-target-option').first().click();
      page.once('dialog', (d) => void d.accept());
      await page.getByTestId('merge-submit').click();
      await page.getByTestId('merge-done').waitFor();
      const hidden = await (await fetch(`${base}/api/patients?q=DUP-1`, { headers: admin })).json();
      assert(hidden.total === 0, `the source is merged away: ${hidden.total}`);
      await page.getByTestId('merge-undo').click();
      await page.waitForFunction(() => (document.querySelector('[data-testid=merge-message]')?.textContent ?? '').includes('已撤销'));
      const back = await (await fetch(`${base}/api/patients?q=DUP-1`, { headers: admin })).json();
      assert(back.total === 1, `the source is back: ${back.total}`);
      await shot('p07-merge-undone');
    });

    await step('hl7: messages sent over MLLP are listed with their acknowledgement and open segment by segment', async () => {
      const msh = (kind, id) => `MSH|^~\\&|E2EHIS|HOSP|HOUNSFIELD|RAD|20260302090000||${kind}|${id}|P|2.5`;
      const pid = 'PID|1||HL7-E2E-1^^^HOSP^MR||孙^悟空~Sun^Wukong||19900307|M';
      const messages = [
        [msh('ADT^A04^ADT_A01', 'E2E-1'), 'EVN|A04', pid, 'PV1|1|O'].join('\r'),
        [msh('ADT^A40^ADT_A39', 'E2E-2'), 'EVN|A40', pid, `MRG|NOBODY${XSS}^^^HOSP^MR`].join('\r'),
        'this is not HL7',
      ];
      const sent = spawnSync(PYTHON, [path.join(REPO, 'web', 'e2e', 'send_hl7.py'), ...messages], { env: session.server.env, cwd: REPO, encoding: 'utf8' });
      assert(sent.status === 0, `sent over MLLP: ${sent.stderr}`);
      assert(sent.stdout.trim() === '["AA", "AE", "AR"]', `ACKs: ${sent.stdout}`);
      await page.goto(`${base}/admin/`);
      await page.getByTestId('admin-tab-hl7').click();
      await page.waitForURL(/\/admin\/hl7\/$/);
      const rows = page.getByTestId('hl7-row');
      await page.waitForFunction(() => document.querySelectorAll('[data-testid=hl7-row]').length >= 3);
      const badges = await page.locator('[data-testid=hl7-row] [data-testid=hl7-ack]').allTextContents();
      for (const [word, code] of [['已接收', 'AA'], ['已拒绝', 'AE'], ['无法解析', 'AR']]) {
        assert(badges.some((b) => b.includes(word) && b.includes(code)), `badge ${word} ${code}: ${badges.join(', ')}`);
      }
      assert(!((await page.getByTestId('hl7-table').textContent()) ?? '').includes('孙'), 'the list shows no patient names');
      await page.getByTestId('hl7-filters').locator('select[name=ack_code]').selectOption('AE');
      await page.getByTestId('hl7-search').click();
      await page.waitForFunction(() => {
        const r = [...document.querySelectorAll('[data-testid=hl7-row]')];
        return r.length === 1 && r[0].getAttribute('data-ack') === 'AE';
      });
      assert((await text('hl7-reason')).includes('被合并的患者不存在'), `zh-CN reason: ${await text('hl7-reason')}`);
      await rows.first().getByTestId('hl7-open').click();
      const detail = page.getByTestId('hl7-detail');
      await detail.getByTestId('hl7-segment').first().waitFor();
      const names = await detail.getByTestId('hl7-segment').evaluateAll((els) => els.map((e) => e.getAttribute('data-segment')));
      assert(names.join(',') === 'MSH,EVN,PID,MRG', `segments: ${names}`);
      assert(((await detail.textContent()) ?? '').includes('孙^悟空'), 'the detail shows the message text');
      // I8: the refused message's markup (MRG-1) is shown as text, on the segments and raw.
      await detail.getByTestId('hl7-raw-toggle').click();
      await detail.getByTestId('hl7-raw').waitFor();
      assert(((await detail.getByTestId('hl7-raw').textContent()) ?? '').includes(XSS), 'the raw message shows the markup as text');
      assert(((await detail.textContent()) ?? '').split(XSS).length > 2, 'segments and raw text both show it');
      assert((await detail.locator('img').count()) === 0, 'no element was made from the message');
      assert((await page.evaluate(() => window.__x)) === undefined, 'the onerror handler never ran');
      assert(await detail.getByTestId('hl7-reprocess').isVisible(), 'a refused message can be reprocessed by an administrator');
      await shot('p08-hl7-detail');
    });

    await step('patients: delete a record, then restore it from 显示已删除', async () => {
      const found = await (await fetch(`${base}/api/patients?q=HL7-E2E-1`, { headers: admin })).json();
      assert(found.total === 1, `the HL7 patient is registered: ${found.total}`);
      await page.goto(`${base}/patients/detail/?id=${found.items[0].id}`);
      await page.getByTestId('patient-record').waitFor();
      page.once('dialog', (d) => void d.accept());
      await page.getByTestId('patient-delete').click();
      await page.waitForURL(/\/patients\/$/);
      const gone = await (await fetch(`${base}/api/patients?q=HL7-E2E-1`, { headers: admin })).json();
      assert(gone.total === 0, `deleted: ${gone.total}`);
      await page.getByTestId('patient-show-deleted').check();
      await page.getByTestId('patient-q').fill('HL7-E2E');
      const row = page.locator('[data-testid=patient-row][data-deleted=true]', { hasText: 'HL7-E2E-1' });
      await row.waitFor();
      page.once('dialog', (d) => void d.accept());
      await row.getByTestId('patient-restore').click();
      await page.getByTestId('patient-restored').waitFor();
      await row.waitFor({ state: 'detached' });
      await page.getByTestId('patient-show-deleted').uncheck();
      await page.locator('[data-testid=patient-link]', { hasText: '孙悟空' }).waitFor();
      await shot('p09-patient-restored');
    });

    await step('patients: English on request', async () => {
      await page.getByTestId('locale-switch').selectOption('en');
      await page.goto(`${base}/patients/`);
      await page.getByText('New patient').first().waitFor();
      await page.getByTestId('locale-switch').selectOption('zh-CN');
    });

    await step('patients: markup in the name, address, allergies and notes shows as text, never runs (I8)', async () => {
      // A PN value may not hold '=', so the name carries tags without attributes.
      const name = '<b>Markup</b>^<i>Test</i>';
      const created = await fetch(`${base}/api/patients`, {
        method: 'POST',
        headers: { ...admin, 'Content-Type': 'application/json' },
        body: JSON.stringify({ name_alphabetic: name, mrn: 'XSS-1', address: XSS, allergies: XSS, notes: XSS }),
      });
      assert(created.status === 201, `patient with markup: ${created.status}`);
      const { id } = await created.json();
      await page.goto(`${base}/patients/`);
      await page.getByTestId('patient-q').fill('XSS-1');
      const link = page.locator('[data-testid=patient-link]', { hasText: '<b>Markup</b>' });
      await link.waitFor();
      assert((await link.locator('b, i').count()) === 0, 'the name tags are text, not elements');
      await page.goto(`${base}/patients/detail/?id=${id}`);
      const record = page.getByTestId('patient-record');
      await record.waitFor();
      assert(((await text('patient-title')) ?? '').includes('<b>Markup</b>'), 'the title shows the name as text');
      const shown = (await record.textContent()) ?? '';
      assert(shown.split(XSS).length - 1 === 3, `address, allergies and notes shown as text: ${shown}`);
      assert((await page.locator('[data-testid=patient-record] img, [data-testid=patient-title] b').count()) === 0, 'no element made from the data');
      assert((await page.evaluate(() => window.__x)) === undefined, 'the onerror handler never ran');
    });

    await step('patients: no script errors and no CSP violations', async () => {
      const bad = consoleErrors.filter((m) => /Content Security Policy|pageerror|Refused to/i.test(m));
      assert(bad.length === 0, `console: ${bad.join('\n')}`);
    });
  } finally {
    await closeSession(session, { results, failed });
  }
  finish(results, failed, 'patient/order/worklist browser steps');
}

runMain(main);
