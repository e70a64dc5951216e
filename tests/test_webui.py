"""The web workstation's static export served at `/`: fallback, caching, security headers."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Callable
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

pytestmark = pytest.mark.nodb

INLINE = "self.__next_f=self.__next_f||[]"


def _sha256(text: str) -> str:
    return "sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()


def _fake_export(root: Path, *, with_404: bool = True) -> Path:
    out = root / "out"
    (out / "studies").mkdir(parents=True)
    (out / "_next" / "static" / "chunks").mkdir(parents=True)
    (out / "index.html").write_text(
        f'<html><head><script src="/_next/static/chunks/app-1a2b.js" async></script>'
        f"<script>{INLINE}</script></head><body>HOME</body></html>"
    )
    (out / "studies" / "index.html").write_text("<html><body>WORKLIST</body></html>")
    (out / "_next" / "static" / "chunks" / "app-1a2b.js").write_text("console.log(1)")
    (out / "favicon.ico").write_bytes(b"\0\0\1\0")
    if with_404:
        (out / "404.html").write_text("<html><body>NOT FOUND PAGE</body></html>")
    (root / "secret.txt").write_text("SECRET")
    return out


def _client(settings_env: Callable[..., None], web_dir: Path) -> TestClient:
    settings_env(HOUNSFIELD_WEB_DIR=str(web_dir))
    from hounsfield.app import create_app

    return TestClient(create_app())


def test_pages_assets_and_headers(settings_env: Callable[..., None], tmp_path: Path) -> None:
    client = _client(settings_env, _fake_export(tmp_path))

    home = client.get("/")
    assert home.status_code == 200
    assert "HOME" in home.text
    assert home.headers["cache-control"] == "no-cache"
    assert home.headers["x-content-type-options"] == "nosniff"
    assert home.headers["x-frame-options"] == "DENY"
    assert home.headers["referrer-policy"] == "no-referrer"
    csp = home.headers["content-security-policy"]
    script_src = next(d for d in csp.split("; ") if d.startswith("script-src "))
    assert f"'{_sha256(INLINE)}'" in script_src  # Next's inline bootstrap, allowed by hash
    assert "'unsafe-inline'" not in script_src
    assert "'unsafe-eval'" not in script_src
    assert "frame-ancestors 'none'" in csp
    assert "frame-src 'self' blob:" in csp  # the PDF preview (an object URL), nothing else

    page = client.get("/studies/")
    assert page.status_code == 200
    assert "WORKLIST" in page.text

    moved = client.get("/studies?x=1", follow_redirects=False)
    assert moved.status_code == 308
    assert moved.headers["location"] == "/studies/?x=1"

    asset = client.get("/_next/static/chunks/app-1a2b.js")
    assert asset.status_code == 200
    assert asset.headers["cache-control"] == "public, max-age=31536000, immutable"
    assert asset.headers["content-type"].startswith("text/javascript")
    assert asset.headers["x-content-type-options"] == "nosniff"

    icon = client.get("/favicon.ico")
    assert icon.status_code == 200
    assert "immutable" not in icon.headers["cache-control"]


def test_pwa_manifest_and_service_worker(settings_env: Callable[..., None], tmp_path: Path) -> None:
    out = _fake_export(tmp_path)
    (out / "manifest.webmanifest").write_text('{"name": "影像诊断工作站"}', encoding="utf-8")
    (out / "sw.js").write_text("importScripts('/sw-rules.js');")
    (out / "sw-rules.js").write_text("self.hfSwRules = {};")
    (out / "icons").mkdir()
    (out / "icons" / "icon-192.png").write_bytes(b"\x89PNG\r\n")
    client = _client(settings_env, out)

    manifest = client.get("/manifest.webmanifest")
    assert manifest.status_code == 200
    assert manifest.headers["content-type"] == "application/manifest+json"
    assert manifest.json()["name"] == "影像诊断工作站"

    worker = client.get("/sw.js")
    assert worker.status_code == 200
    assert worker.headers["content-type"].startswith("text/javascript")
    assert worker.headers["service-worker-allowed"] == "/"
    assert worker.headers["cache-control"] == "no-cache"
    rules = client.get("/sw-rules.js")
    assert rules.headers["cache-control"] == "no-cache"
    assert "service-worker-allowed" not in rules.headers

    icon = client.get("/icons/icon-192.png")
    assert icon.headers["content-type"] == "image/png"
    assert "service-worker-allowed" not in icon.headers

    # The page's policy lets it register its own worker and read its own manifest, nobody else's.
    csp = client.get("/").headers["content-security-policy"].split("; ")
    assert "worker-src 'self' blob:" in csp
    assert "manifest-src 'self'" in csp


def test_unknown_page_gets_the_not_found_page(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    client = _client(settings_env, _fake_export(tmp_path))
    response = client.get("/no/such/page/")
    assert response.status_code == 404
    assert "NOT FOUND PAGE" in response.text
    assert response.headers["content-type"].startswith("text/html")


def test_spa_fallback_without_a_404_page(settings_env: Callable[..., None], tmp_path: Path) -> None:
    client = _client(settings_env, _fake_export(tmp_path, with_404=False))
    response = client.get("/deep/link")
    assert response.status_code == 200
    assert "HOME" in response.text


def test_api_paths_keep_their_json_errors(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    client = _client(settings_env, _fake_export(tmp_path))
    for path in ("/api/nope", "/api", "/dicom-web/nope", "/dicom-web/studies/1.2.3/nope"):
        response = client.get(path)
        assert response.status_code == 404, path
        assert response.headers["content-type"].startswith("application/json"), path
        assert response.json()["error"]["code"] == "not_found", path
    # Other methods on UI paths: JSON 404 too, never a page.
    posted = client.post("/studies/")
    assert posted.status_code == 404
    assert posted.json()["error"]["code"] == "not_found"
    # A route's own behaviour is untouched: wrong method is still 405.
    assert client.get("/api/auth/login").status_code == 405


def test_no_file_outside_the_export(settings_env: Callable[..., None], tmp_path: Path) -> None:
    client = _client(settings_env, _fake_export(tmp_path))
    for raw in ("/%2e%2e/secret.txt", "/studies/%2e%2e/%2e%2e/secret.txt", "/..%2fsecret.txt"):
        response = client.get(raw)
        assert "SECRET" not in response.text, raw


def test_absent_export_serves_nothing(settings_env: Callable[..., None], tmp_path: Path) -> None:
    client = _client(settings_env, tmp_path / "missing")
    response = client.get("/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"
