"""SECURITY T1: the production TLS front (deploy/nginx/hounsfield.conf, as shipped) scanned
by sslyze on loopback: TLS 1.0/1.1 (and SSL) refused, every accepted suite ECDHE + AEAD,
HSTS sent. nginx and sslyze are real; only addresses and file paths are made local."""

from __future__ import annotations

import json
import re
import subprocess
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from tests.live_server import free_port

REPO = Path(__file__).resolve().parents[2]
SHIPPED = REPO / "deploy" / "nginx" / "hounsfield.conf"
SSLYZE = REPO / ".venv-sslyze" / "bin" / "sslyze"  # `make sslyze` (its own venv)
AEAD = ("_GCM_", "_CHACHA20_POLY1305_", "_CCM")


class _Api(BaseHTTPRequestHandler):
    """Stands in for the API behind nginx: answers 200."""

    def do_GET(self) -> None:
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"ok")

    def log_message(self, *_: Any) -> None:
        pass


def _certificate(directory: Path) -> tuple[Path, Path]:
    key, cert = directory / "privkey.pem", directory / "fullchain.pem"
    subprocess.run(
        ["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
         "-subj", "/CN=localhost", "-keyout", str(key), "-out", str(cert)],
        check=True, capture_output=True,
    )  # fmt: skip
    return key, cert


def _local_config(directory: Path, tls_port: int, api_port: int) -> Path:
    """The shipped server blocks with loopback ports, a local certificate and upstream."""
    key, cert = _certificate(directory)
    site = SHIPPED.read_text()
    site = site.replace("server api:8000;", f"server 127.0.0.1:{api_port};")
    site = site.replace("listen 80;", f"listen 127.0.0.1:{free_port()};")
    site = site.replace("listen 443 ssl;", f"listen 127.0.0.1:{tls_port} ssl http2;")
    # Compose runs nginx 1.27; Debian's 1.22 knows HTTP/2 only as a `listen` parameter.
    site = site.replace("http2 on;", "")
    site = site.replace("/etc/nginx/tls/fullchain.pem", str(cert))
    site = site.replace("/etc/nginx/tls/privkey.pem", str(key))
    assert f"127.0.0.1:{tls_port} ssl" in site  # the shape we rely on
    assert str(key) in site
    (directory / "site.conf").write_text(site)
    main = directory / "nginx.conf"
    main.write_text(
        f"daemon off; pid {directory}/nginx.pid; error_log {directory}/error.log;\n"
        f"events {{}}\nhttp {{ access_log off; client_body_temp_path {directory}/body;\n"
        f"  proxy_temp_path {directory}/proxy; include {directory}/site.conf; }}\n"
    )
    return main


@pytest.fixture
def nginx(tmp_path: Path) -> Iterator[int]:
    api = ThreadingHTTPServer(("127.0.0.1", 0), _Api)
    threading.Thread(target=api.serve_forever, daemon=True).start()
    port = free_port()
    config = _local_config(tmp_path, port, api.server_address[1])
    subprocess.run(["nginx", "-t", "-c", str(config), "-p", str(tmp_path)], check=True,
                   capture_output=True)  # fmt: skip
    process = subprocess.Popen(["nginx", "-c", str(config), "-p", str(tmp_path)])
    try:
        from tests.dimse.conftest import wait_for_port

        wait_for_port(port)
        yield port
    finally:
        process.terminate()
        process.wait(timeout=30)
        api.shutdown()


def sslyze(target: str, out: Path, *options: str) -> dict[str, Any]:
    """sslyze's protocol and suite scan of `target` (and `options`), as JSON."""
    assert SSLYZE.exists(), "sslyze is missing: run `make sslyze`"
    subprocess.run(
        [str(SSLYZE), "--quiet", f"--json_out={out}", "--sslv2", "--sslv3", "--tlsv1",
         "--tlsv1_1", "--tlsv1_2", "--tlsv1_3", *options, target],
        check=True, capture_output=True, timeout=300,
    )  # fmt: skip
    result = json.loads(out.read_text())["server_scan_results"][0]
    assert result["scan_status"] == "COMPLETED", result
    return dict(result["scan_result"])


def _accepted(scan: dict[str, Any], name: str) -> list[dict[str, Any]]:
    command = scan[name]
    assert command["status"] == "COMPLETED", command
    return list(command["result"]["accepted_cipher_suites"])


def check_modern_tls(scan: dict[str, Any]) -> None:
    """SSL and TLS 1.0/1.1 refused; every accepted suite ECDHE with an AEAD cipher."""
    for old in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
                "tls_1_1_cipher_suites"):  # fmt: skip
        assert _accepted(scan, old) == [], old
    modern = _accepted(scan, "tls_1_2_cipher_suites") + _accepted(scan, "tls_1_3_cipher_suites")
    assert modern
    for accepted in modern:
        name = accepted["cipher_suite"]["name"]
        assert any(mode in name for mode in AEAD), name
        assert accepted["ephemeral_key"]["type_name"] == "ECDH", name  # ECDHE (or X25519)
    for accepted in _accepted(scan, "tls_1_2_cipher_suites"):
        assert re.match(r"TLS_ECDHE_(RSA|ECDSA)_WITH_", accepted["cipher_suite"]["name"])


@pytest.mark.slow
@pytest.mark.nodb
def test_the_shipped_nginx_speaks_only_modern_tls_with_hsts(nginx: int, tmp_path: Path) -> None:
    scan = sslyze(f"localhost:{nginx}{{127.0.0.1}}", tmp_path / "sslyze.json", "--http_headers")
    check_modern_tls(scan)
    hsts = scan["http_headers"]["result"]["strict_transport_security_header"]
    assert hsts is not None
    assert hsts["max_age"] >= 31536000
    assert hsts["include_subdomains"]
