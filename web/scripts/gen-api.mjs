// Regenerates lib/api/schema.d.ts from the backend's OpenAPI document.
//   npm run gen:api                         dump it with the repo's Python (no server needed)
//   OPENAPI_URL=http://127.0.0.1:8100/openapi.json npm run gen:api   read a running server
import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const web = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const repo = path.resolve(web, '..');
const target = path.join(web, 'openapi.json');

let doc;
if (process.env.OPENAPI_URL) {
  const r = await fetch(process.env.OPENAPI_URL);
  if (!r.ok) throw new Error(`${process.env.OPENAPI_URL}: ${r.status}`);
  doc = JSON.stringify(await r.json(), null, 1);
} else {
  const python = process.env.HOUNSFIELD_PYTHON ?? path.join(repo, '.venv', 'bin', 'python');
  doc = execFileSync(python, [path.join(web, 'scripts', 'dump_openapi.py')], {
    cwd: repo,
    encoding: 'utf8',
    env: { ...process.env, HOUNSFIELD_LOG_LEVEL: 'WARNING' },
    maxBuffer: 64 * 1024 * 1024,
  });
}
// A log line the app writes at start-up (web/out missing, say) may come before the JSON.
if (!doc.startsWith('{')) doc = doc.slice(doc.indexOf('\n{') + 1);
writeFileSync(target, doc);
execFileSync(
  path.join(web, 'node_modules', '.bin', 'openapi-typescript'),
  [target, '-o', path.join(web, 'lib', 'api', 'schema.d.ts')],
  { stdio: 'inherit' },
);
