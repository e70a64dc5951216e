// JavaScript a page of the static export loads before it runs: the <script src> files its HTML
// names (raw and gzip bytes). Chunks a page imports later (the viewer's) are not in its HTML.
// Usage: node scripts/page-js-bytes.mjs [outDir] [page ...]   (default: web/out, login studies viewer)
// Prints one JSON object per page; exits 1 if a page's HTML is missing.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const here = path.dirname(fileURLToPath(import.meta.url));
const [outArg, ...pagesArg] = process.argv.slice(2);
const out = path.resolve(outArg ?? path.join(here, '..', 'out'));
const pages = pagesArg.length ? pagesArg : ['login', 'studies', 'viewer'];

/** The same-origin script files an HTML page names, in order, without repeats. */
export function scriptSources(html) {
  const found = [...html.matchAll(/<script\b[^>]*\bsrc="(\/[^"]+\.js)"/g)].map((m) => m[1]);
  return [...new Set(found)];
}

let missing = false;
for (const page of pages) {
  const file = path.join(out, page, 'index.html');
  if (!existsSync(file)) {
    console.error(`no ${file}`);
    missing = true;
    continue;
  }
  let raw = 0;
  let gzip = 0;
  const sources = scriptSources(readFileSync(file, 'utf8'));
  for (const src of sources) {
    const body = readFileSync(path.join(out, src));
    raw += body.length;
    gzip += gzipSync(body).length;
  }
  console.log(JSON.stringify({ page: `/${page}/`, scripts: sources.length, raw, gzip }));
}
process.exit(missing ? 1 : 0);
