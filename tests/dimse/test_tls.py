"""DICOM TLS (SECURITY.md T2): BCP 195 non-downgrading, optional mutual authentication."""

from __future__ import annotations

import socket
import ssl
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.dicom_factory import write_dicom
from tests.dimse.conftest import free_port, run


def _openssl(*args: str) -> None:
    subprocess.run(["/usr/bin/openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA, a server certificate for 127.0.0.1 and a client certificate, all CA-signed."""
    d = tmp_path_factory.mktemp("pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
             str(d / "ca.key"), "-out", str(d / "ca.crt"), "-subj", "/CN=Test CA")  # fmt: skip
    for name in ("server", "client"):
        _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{name}.key"),
                 "-out", str(d / f"{name}.csr"), "-subj", f"/CN={name}")  # fmt: skip
        ext = d / f"{name}.ext"
        ext.write_text("subjectAltName=IP:127.0.0.1,DNS:localhost\n")
        _openssl("x509", "-req", "-in", str(d / f"{name}.csr"), "-CA", str(d / "ca.crt"),
                 "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
                 "-out", str(d / f"{name}.crt"), "-extfile", str(ext))  # fmt: skip
    return d


@pytest.fixture
def tls_listener(pki: Path, settings_env: Callable[..., None]) -> Iterator[Any]:
    from hounsfield.config import get_settings
    from hounsfield.dimse.scp import DicomListener

    settings_env(
        HOUNSFIELD_DICOM__PORT=str(free_port()),
        HOUNSFIELD_DICOM__TLS_CERT=str(pki / "server.crt"),
        HOUNSFIELD_DICOM__TLS_KEY=str(pki / "server.key"),
        HOUNSFIELD_DICOM__TLS_CA=str(pki / "ca.crt"),
    )
    server = DicomListener(get_settings())
    server.start()
    try:
        yield server
    finally:
        server.stop(grace_s=5)


def test_storescu_over_tls_with_client_certificate(
    tls_listener: Any, pki: Path, tmp_path: Path, register: Callable[..., Any]
) -> None:
    register("MODALITY", operations=["store"], tls=True)
    path = write_dicom(tmp_path)
    ok = run(["/usr/bin/storescu", "+tls", str(pki / "client.key"), str(pki / "client.crt"),
              "+cf", str(pki / "ca.crt"), "+py", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
              "127.0.0.1", str(tls_listener.port), str(path)])  # fmt: skip
    assert ok.returncode == 0, ok.stderr


def test_plain_tcp_and_anonymous_tls_are_refused(
    tls_listener: Any, pki: Path, register: Callable[..., Any]
) -> None:
    register("MODALITY", operations=["store"])
    plain = run(["/usr/bin/echoscu", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                 "127.0.0.1", str(tls_listener.port)], timeout=90)  # fmt: skip
    assert plain.returncode != 0
    anonymous = run(["/usr/bin/echoscu", "+tla", "+cf", str(pki / "ca.crt"), "-aet", "MODALITY",
                     "-aec", "HOUNSFIELD", "127.0.0.1", str(tls_listener.port)])  # fmt: skip
    assert anonymous.returncode != 0  # mutual authentication: a client certificate is required


def test_tls_below_1_2_is_refused(tls_listener: Any, pki: Path) -> None:
    from hounsfield.dimse.common import server_ssl_context

    server_context = server_ssl_context(tls_listener.settings.dicom)
    assert server_context is not None
    assert server_context.minimum_version == ssl.TLSVersion.TLSv1_2
    assert server_context.verify_mode == ssl.CERT_REQUIRED
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    context.load_verify_locations(str(pki / "ca.crt"))
    context.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
    context.minimum_version = ssl.TLSVersion.TLSv1
    context.maximum_version = ssl.TLSVersion.TLSv1_1
    with socket.create_connection(("127.0.0.1", tls_listener.port), timeout=10) as raw:
        with pytest.raises(ssl.SSLError):
            with context.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
                tls.do_handshake()

    modern = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    modern.load_verify_locations(str(pki / "ca.crt"))
    modern.load_cert_chain(str(pki / "client.crt"), str(pki / "client.key"))
    with socket.create_connection(("127.0.0.1", tls_listener.port), timeout=10) as raw:
        with modern.wrap_socket(raw, server_hostname="127.0.0.1") as tls:
            assert tls.version() in ("TLSv1.2", "TLSv1.3")


def test_our_scu_echoes_over_tls(
    tls_listener: Any, pki: Path, register: Callable[..., Any]
) -> None:
    """Device with tls=true: our C-ECHO verifies its certificate and presents ours."""
    from hounsfield.dimse import scu

    register("HOUNSFIELD", operations=[], tls=True)  # we call ourselves
    result = scu.echo(scu.Peer("HOUNSFIELD", "127.0.0.1", tls_listener.port, tls=True))
    assert result.success, result
    plain = scu.echo(scu.Peer("HOUNSFIELD", "127.0.0.1", tls_listener.port, tls=False))
    assert not plain.success


@pytest.mark.slow
@pytest.mark.once  # the handshake does not depend on the index database
def test_sslyze_finds_only_modern_tls_on_the_dicom_port(
    tls_listener: Any, pki: Path, tmp_path: Path
) -> None:
    """The DICOM TLS port as a scanner sees it (with a client certificate: mutual TLS)."""
    from tests.security.test_tls_nginx import check_modern_tls, sslyze

    scan = sslyze(f"127.0.0.1:{tls_listener.port}", tmp_path / "scan.json",
                  "--cert", str(pki / "client.crt"), "--key", str(pki / "client.key"))  # fmt: skip
    check_modern_tls(scan)
