"""The web workstation: the Next.js static export (`web/out`) served at `/`.

Nothing is mounted in front of the API: the export is served from the 404 handler, so every
route keeps its own behaviour (405s included) and a path nobody claims falls through to a file
of the export. Paths under `/api` and `/dicom-web` always keep their JSON 404.

- `/studies/` → `studies/index.html`; `/studies` → 308 to `/studies/` (the export uses
  trailing slashes); an unknown page → the export's `404.html` with status 404, or `index.html`
  with 200 when the export has no 404 page (SPA-style fallback).
- `/_next/static/...` (content-hashed names) → `Cache-Control: immutable` for a year; HTML →
  `no-cache`, so a new build is picked up at once.
- The PWA: `manifest.webmanifest` as `application/manifest+json`; the service worker (`sw.js`)
  and the rules it imports (`sw-rules.js`) `no-cache` (a browser checks them for a new version
  on every visit), `sw.js` with `Service-Worker-Allowed: /` (its scope is the whole app).
- Security headers on every response of the UI. The Content-Security-Policy allows no inline
  script: Next's inline bootstrap scripts are allowed by their SHA-256, computed from each
  HTML file when it is served. `'wasm-unsafe-eval'` lets the image decoders' WebAssembly
  compile (it does not allow `eval`); inline styles are allowed (React style attributes).
"""

from __future__ import annotations

import base64
import hashlib
import inspect
import re
from functools import lru_cache
from pathlib import Path

import structlog
from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from starlette.exceptions import HTTPException as StarletteHTTPException

from hounsfield.config import Settings, get_settings

log = structlog.get_logger(__name__)

API_PREFIXES = ("/api", "/dicom-web")
IMMUTABLE = "public, max-age=31536000, immutable"
_INLINE_SCRIPT = re.compile(
    rb"<script(?![^>]*\bsrc=)[^>]*>(.*?)</script>", re.DOTALL | re.IGNORECASE
)
_MEDIA_TYPES = {
    ".html": "text/html; charset=utf-8",
    ".js": "text/javascript; charset=utf-8",
    ".mjs": "text/javascript; charset=utf-8",
    ".css": "text/css; charset=utf-8",
    ".json": "application/json",
    ".webmanifest": "application/manifest+json",
    ".wasm": "application/wasm",
    ".svg": "image/svg+xml",
    ".png": "image/png",
    ".ico": "image/x-icon",
    ".woff2": "font/woff2",
    ".txt": "text/plain; charset=utf-8",
}
# The service worker and what it imports: revalidated on every visit, never served stale.
SERVICE_WORKER_FILES = ("sw.js", "sw-rules.js")

BASE_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


def default_web_dir() -> Path:
    """`web/out` of the source tree (src layout: src/hounsfield/webui.py → repo root)."""
    return Path(__file__).resolve().parents[2] / "web" / "out"


def is_api_path(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in API_PREFIXES)


def content_security_policy(script_hashes: tuple[str, ...] = ()) -> str:
    scripts = " ".join(["'self'", "'wasm-unsafe-eval'", *(f"'{h}'" for h in script_hashes)])
    return "; ".join(
        [
            "default-src 'self'",
            f"script-src {scripts}",
            "style-src 'self' 'unsafe-inline'",
            "img-src 'self' blob: data:",
            "font-src 'self' data:",
            "connect-src 'self'",
            "worker-src 'self' blob:",
            "manifest-src 'self'",
            "object-src 'none'",
            # The report history page previews the PDF (fetched with the token) by blob URL.
            "frame-src 'self' blob:",
            "base-uri 'self'",
            "form-action 'self'",
            "frame-ancestors 'none'",
        ]
    )


@lru_cache(maxsize=256)
def _inline_script_hashes(path: Path, _mtime_ns: int, _size: int) -> tuple[str, ...]:
    hashes = []
    for match in _INLINE_SCRIPT.finditer(path.read_bytes()):
        body = match.group(1)
        if body.strip():
            digest = base64.b64encode(hashlib.sha256(body).digest()).decode()
            hashes.append(f"sha256-{digest}")
    return tuple(dict.fromkeys(hashes))


def script_hashes(path: Path) -> tuple[str, ...]:
    st = path.stat()
    return _inline_script_hashes(path, st.st_mtime_ns, st.st_size)


class WebUI:
    def __init__(self, root: Path) -> None:
        self.root = root.resolve()

    def _file(self, relative: str) -> Path | None:
        if "\x00" in relative or any(part in ("..", ".") for part in relative.split("/")):
            return None
        candidate = (self.root / relative).resolve()
        if not candidate.is_relative_to(self.root) or not candidate.is_file():
            return None
        return candidate

    def _serve(self, path: Path, status_code: int = 200) -> Response:
        headers = dict(BASE_HEADERS)
        relative = path.relative_to(self.root).as_posix()
        if path.suffix == ".html":
            headers["Cache-Control"] = "no-cache"
            headers["Content-Security-Policy"] = content_security_policy(script_hashes(path))
        else:
            headers["Content-Security-Policy"] = content_security_policy()
            if relative.startswith("_next/static/"):
                headers["Cache-Control"] = IMMUTABLE
            elif relative in SERVICE_WORKER_FILES:
                headers["Cache-Control"] = "no-cache"
                if relative == "sw.js":
                    headers["Service-Worker-Allowed"] = "/"
            else:
                headers["Cache-Control"] = "public, max-age=3600"
        media_type = _MEDIA_TYPES.get(path.suffix.lower())
        return FileResponse(path, status_code=status_code, headers=headers, media_type=media_type)

    def response(self, request: Request) -> Response:
        url_path = request.url.path
        relative = url_path.lstrip("/")
        if relative == "" or url_path.endswith("/"):
            found = self._file(relative + "index.html")
            if found:
                return self._serve(found)
        else:
            found = self._file(relative)
            if found:
                return self._serve(found)
            if self._file(relative + "/index.html"):
                query = request.url.query
                target = url_path + "/" + (f"?{query}" if query else "")
                return RedirectResponse(target, status_code=308, headers=BASE_HEADERS)
            found = self._file(relative + ".html")
            if found:
                return self._serve(found)
        not_found = self._file("404.html")
        if not_found:
            return self._serve(not_found, status_code=404)
        index = self._file("index.html")
        if index:
            return self._serve(index)
        return Response(status_code=404, headers=BASE_HEADERS)


def install(app: FastAPI, settings: Settings | None = None) -> None:
    """Serve the export for GET/HEAD paths no route claims. Call after every router is added."""
    settings = settings or get_settings()
    root = settings.web_dir or default_web_dir()
    if not (root / "index.html").is_file():
        log.info("webui.absent", path=str(root))
        return
    ui = WebUI(root)
    json_handler = app.exception_handlers[StarletteHTTPException]

    async def not_found(request: Request, exc: Exception) -> Response:
        if request.method in ("GET", "HEAD") and not is_api_path(request.url.path):
            return ui.response(request)
        response = json_handler(request, exc)
        return await response if inspect.isawaitable(response) else response

    app.add_exception_handler(404, not_found)
