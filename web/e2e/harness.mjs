// Starts a throw-away Hounsfield: fresh HOUNSFIELD_DATA_DIR, migrated, a doctor, an admin and a
// nurse with known passwords, `hounsfield serve` on a free port. Stops it (and only it) at the end.
import { spawn, spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPO = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const HOUNSFIELD = process.env.HOUNSFIELD_BIN ?? path.join(REPO, '.venv', 'bin', 'hounsfield');
export const PYTHON = process.env.HOUNSFIELD_PYTHON ?? path.join(REPO, '.venv', 'bin', 'python');
export const ARTIFACTS = path.join(REPO, 'test-artifacts');
export const WEB_OUT = process.env.HOUNSFIELD_WEB_DIR ?? path.join(REPO, 'web', 'out');
export const STEP_TIMEOUT = 30000;

export const USERS = {
  doctor: { username: 'e2e-doctor', password: 'Doctor-pass-2026!', role: 'doctor' },
  admin: { username: 'e2e-admin', password: 'Admin-pass-2026!x', role: 'admin' },
  nurse: { username: 'e2e-nurse', password: 'Nurse-pass-2026!', role: 'nurse' },
};

export function freePort() {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.unref();
    srv.on('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address();
      srv.close(() => resolve(port));
    });
  });
}

function run(cmd, args, env) {
  const r = spawnSync(cmd, args, { env, cwd: REPO, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} failed (${r.status}): ${r.stderr}`);
  return r.stdout;
}

/**
 * Whether GET `url` answers 200, on a connection of its own that is closed afterwards: a
 * probe's kept-alive connection, closed by the server while a spawnSync blocked the event
 * loop, would be handed to the file's first fetch ("fetch failed").
 */
function answers(url) {
  return new Promise((resolve) => {
    const req = http.get(url, { agent: false }, (res) => {
      res.resume();
      resolve(res.statusCode === 200);
    });
    req.on('error', () => resolve(false));
  });
}

// Bounded, not a timing assertion: on a loaded 2-core machine a start took over 60 s.
async function waitReady(base, child, timeoutMs = 180000) {
  const until = Date.now() + timeoutMs;
  while (Date.now() < until) {
    if (child.exitCode !== null) throw new Error(`hounsfield serve exited with ${child.exitCode}`);
    if (await answers(`${base}/healthz`)) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error('hounsfield serve did not become ready');
}

const TEMPLATE_ENV = 'HOUNSFIELD_E2E_TEMPLATE';

function serverEnv(dataDir, extra = {}) {
  const env = { ...process.env, HOUNSFIELD_DATA_DIR: dataDir, HOUNSFIELD_DICOM__ENABLED: 'false', HOUNSFIELD_LOG_LEVEL: 'WARNING', ...extra };
  delete env.HOUNSFIELD_DATABASE_URL;
  delete env[TEMPLATE_ENV];
  return env;
}

/** The real set-up of a data directory: the migrations, then USERS made with the CLI. */
function initialise(env) {
  run(HOUNSFIELD, ['migrate'], env);
  for (const u of Object.values(USERS)) {
    run(HOUNSFIELD, ['user', 'create', '--username', u.username, '--password', u.password, '--role', u.role], env);
  }
}

/**
 * A data directory set up once (migrated, USERS in it) that startServer copies instead of
 * setting up each server's again: the migration and three CLI runs took ~40 s per server on a
 * loaded 2-core machine. run.mjs makes one for itself and the files it runs (in
 * HOUNSFIELD_E2E_TEMPLATE); a file run alone sets up its own. Every server still has a data
 * directory (and database) of its own. Returns a function that removes the template.
 */
export function shareSetUp() {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'hf-e2e-template-'));
  try {
    initialise(serverEnv(dir));
  } catch (err) {
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  process.env[TEMPLATE_ENV] = dir;
  return () => {
    delete process.env[TEMPLATE_ENV];
    rmSync(dir, { recursive: true, force: true });
  };
}

/** SIGTERM, and SIGKILL if it has not exited 10 s later. */
async function stopProcess(child) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  await new Promise((r) => {
    const t = setTimeout(() => {
      child.kill('SIGKILL');
      r();
    }, 10000);
    child.on('exit', () => {
      clearTimeout(t);
      r();
    });
    child.kill('SIGTERM');
  });
}

/** `extraEnv` adds settings, e.g. HOUNSFIELD_DICOM__ENABLED=true for the DIMSE listener (on `dicomPort`). */
export async function startServer({ webDir, extraEnv = {} } = {}) {
  const template = process.env[TEMPLATE_ENV];
  const dataDir = mkdtempSync(path.join(os.tmpdir(), 'hf-e2e-'));
  const port = await freePort();
  const dicomPort = await freePort();
  const env = serverEnv(dataDir, { HOUNSFIELD_DICOM__PORT: String(dicomPort), ...(webDir ? { HOUNSFIELD_WEB_DIR: webDir } : {}), ...extraEnv });
  if (template) cpSync(template, dataDir, { recursive: true });
  else initialise(env);
  const child = spawn(HOUNSFIELD, ['serve', '--host', '127.0.0.1', '--port', String(port)], {
    env,
    cwd: REPO,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr.on('data', (d) => {
    stderr = (stderr + d.toString()).slice(-20000);
  });
  const base = `http://127.0.0.1:${port}`;
  try {
    await waitReady(base, child);
  } catch (err) {
    await stopProcess(child);
    rmSync(dataDir, { recursive: true, force: true });
    throw new Error(`${err.message}\n${stderr}`);
  }
  return {
    base,
    dataDir,
    dicomPort,
    env,
    logs: () => stderr,
    async stop() {
      await stopProcess(child);
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export async function launchBrowser(chromium, userDataDir, viewport = { width: 1366, height: 768 }) {
  return chromium.launchPersistentContext(userDataDir, {
    executablePath: process.env.CHROMIUM ?? '/usr/bin/chromium',
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
    locale: 'zh-CN',
  });
}

/**
 * Named browser-test steps: each logs ok/FAIL with its time, a failing step leaves a
 * screenshot `<prefix><step>.png` in `artifacts`, and with `stopOnFailure` the steps after a
 * failure are recorded as skipped (they depend on it). `currentPage()` is read on failure.
 */
export function stepRunner({ prefix, artifacts, currentPage, stopOnFailure = true }) {
  const results = [];
  let anyFailed = false;
  async function step(name, fn) {
    if (anyFailed && stopOnFailure) {
      results.push({ name, status: 'skipped' });
      return;
    }
    const t0 = Date.now();
    try {
      await fn();
      results.push({ name, status: 'passed', ms: Date.now() - t0 });
      console.log(`  ok   ${name} (${Date.now() - t0} ms)`);
    } catch (err) {
      anyFailed = true;
      results.push({ name, status: 'failed', error: String(err?.stack ?? err) });
      console.log(`  FAIL ${name}\n${String(err?.stack ?? err)}`);
      const page = currentPage();
      const file = path.join(artifacts, `${prefix}${name.replace(/\W+/g, '_')}.png`);
      if (page) await page.screenshot({ path: file }).catch(() => {});
    }
  }
  return { results, step, failed: () => anyFailed };
}

export function assert(cond, message) {
  if (!cond) throw new Error(`assertion failed: ${message}`);
}

/** A bearer header for `user`, from the login API. */
export async function apiLogin(base, user) {
  const r = await fetch(`${base}/api/auth/login`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: user.username, password: user.password }),
  });
  assert(r.ok, `API login: ${r.status}`);
  return { Authorization: `Bearer ${(await r.json()).access_token}` };
}

/**
 * What an e2e file's main() starts with: test-artifacts/, a scratch directory (given to
 * `prepare` before the server starts, for files built ahead of it), a throw-away server, and
 * chromium (profile in the scratch directory) whose page has the step timeout and records
 * console errors; `serverEnv` adds settings to the server's environment. Whatever was started
 * is stopped again if a later part fails to start.
 */
export async function openSession(chromium, { name, viewport = { width: 1600, height: 900 }, prepare, serverEnv: extraEnv } = {}) {
  mkdirSync(ARTIFACTS, { recursive: true });
  const scratch = mkdtempSync(path.join(os.tmpdir(), `hf-${name}-`));
  let server;
  let context;
  try {
    if (prepare) await prepare(scratch);
    // The browser starts while the server does (each takes seconds on a loaded machine).
    const started = await Promise.allSettled([
      startServer({ webDir: WEB_OUT, extraEnv }),
      launchBrowser(chromium, path.join(scratch, 'profile'), viewport),
    ]);
    [server, context] = started.map((r) => (r.status === 'fulfilled' ? r.value : undefined));
    const refused = started.find((r) => r.status === 'rejected');
    if (refused) throw refused.reason;
    const page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(STEP_TIMEOUT);
    const consoleErrors = [];
    page.on('console', (m) => m.type() === 'error' && consoleErrors.push(m.text()));
    page.on('pageerror', (e) => consoleErrors.push(`pageerror: ${e.message}`));
    return { name, server, base: server.base, scratch, context, page, consoleErrors };
  } catch (err) {
    await context?.close();
    await server?.stop();
    rmSync(scratch, { recursive: true, force: true });
    throw err;
  }
}

/**
 * The end of an e2e file's main(), after its steps (also when one threw): the results (and
 * console errors) in test-artifacts/e2e-<name>-results.json, the browser closed, the server's
 * log tail printed if a step failed, the server stopped and the scratch directory removed.
 * `more` adds fields to the results file; `file` names it otherwise.
 */
export async function closeSession(session, { results, failed, more = {}, file = `e2e-${session.name}-results.json` }) {
  const { server, context, scratch, consoleErrors } = session;
  writeFileSync(path.join(ARTIFACTS, file), JSON.stringify({ results, consoleErrors, ...more }, null, 2));
  await context.close();
  if (failed()) console.log(`server log (tail):\n${server.logs().slice(-4000)}`);
  await server.stop();
  rmSync(scratch, { recursive: true, force: true });
}

/** Prints how many of the steps passed. */
export function summarize(results, failed, what) {
  const passed = results.filter((r) => r.status === 'passed').length;
  console.log(`\n${passed}/${results.length} ${what} passed${failed() ? ' — FAILED' : ''}`);
}

/** The last line of an e2e file: the summary, and exit code 1 if any step failed. */
export function finish(results, failed, what) {
  summarize(results, failed, what);
  process.exit(failed() ? 1 : 0);
}

/** Runs an e2e file's main(): an error outside the steps is printed and exits 1. */
export function runMain(main) {
  main().catch((err) => {
    console.error(err);
    process.exit(1);
  });
}
