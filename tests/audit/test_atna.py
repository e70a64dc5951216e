"""ATNA export (SECURITY.md U3, U6): sealed events reach a syslog-TLS collector as DICOM
PS3.15 A.5 messages valid against the shipped RELAX NG schema; while the collector is
down they wait, and all of them arrive once it is back."""

from __future__ import annotations

import re
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from lxml import etree

from hounsfield.audit import atna, service
from hounsfield.audit.service import Anonymous
from hounsfield.config import get_settings
from tests.dicomweb.helpers import multipart_body, read_dataset, sample_file
from tests.live_server import free_port

# RFC 5424: <PRI>VERSION SP TIMESTAMP SP HOSTNAME SP APP-NAME SP PROCID SP MSGID SP SD SP MSG
HEADER = re.compile(
    rb"^<(\d{1,3})>1 (\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?(?:Z|[+-]\d\d:\d\d)) "
    rb"(\S{1,255}) (\S{1,48}) (\S{1,128}) (\S{1,32}) (-|\[.*?\]) \xef\xbb\xbf"
)


def _openssl(*args: str) -> None:
    subprocess.run(["/usr/bin/openssl", *args], check=True, capture_output=True, timeout=60)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A CA and a collector certificate for 127.0.0.1 signed by it."""
    d = tmp_path_factory.mktemp("atna-pki")
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
             str(d / "ca.key"), "-out", str(d / "ca.crt"), "-subj", "/CN=Test CA")  # fmt: skip
    _openssl("req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "collector.key"),
             "-out", str(d / "collector.csr"), "-subj", "/CN=collector")  # fmt: skip
    (d / "ext").write_text("subjectAltName=IP:127.0.0.1\n")
    _openssl("x509", "-req", "-in", str(d / "collector.csr"), "-CA", str(d / "ca.crt"),
             "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-days", "2",
             "-out", str(d / "collector.crt"), "-extfile", str(d / "ext"))  # fmt: skip
    return d


class Collector:
    """A syslog-over-TLS listener (RFC 5425): octet-counted frames, kept in `messages`."""

    def __init__(self, port: int, pki: Path) -> None:
        self.port = port
        self.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        self.context.load_cert_chain(pki / "collector.crt", pki / "collector.key")
        self.messages: list[bytes] = []
        self.arrived = threading.Condition()
        self._server: socket.socket | None = None

    def start(self) -> None:
        server = socket.socket()
        server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        server.bind(("127.0.0.1", self.port))
        server.listen()
        self._server = server
        threading.Thread(target=self._accept, args=(server,), daemon=True).start()

    def stop(self) -> None:
        if self._server is not None:
            self._server.close()
            self._server = None

    def _accept(self, server: socket.socket) -> None:
        while True:
            try:
                conn, _ = server.accept()
            except OSError:
                return  # closed
            threading.Thread(target=self._read, args=(conn,), daemon=True).start()

    def _read(self, conn: socket.socket) -> None:
        try:
            tls = self.context.wrap_socket(conn, server_side=True)
        except (ssl.SSLError, OSError):
            return
        buffer = b""
        with tls:
            while True:
                try:
                    chunk = tls.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while b" " in buffer:
                    length, rest = buffer.split(b" ", 1)
                    if len(rest) < int(length):
                        break
                    with self.arrived:
                        self.messages.append(rest[: int(length)])
                        self.arrived.notify_all()
                    buffer = rest[int(length) :]

    def wait_for(self, count: int) -> list[bytes]:
        with self.arrived:
            self.arrived.wait_for(lambda: len(self.messages) >= count, timeout=60)
            return list(self.messages)


@pytest.fixture
def collector(pki: Path, settings_env: Callable[..., None]) -> Iterator[Collector]:
    port = free_port()
    settings_env(
        HOUNSFIELD_AUDIT__SYSLOG_HOST="127.0.0.1",
        HOUNSFIELD_AUDIT__SYSLOG_PORT=str(port),
        HOUNSFIELD_AUDIT__SYSLOG_CA=str(pki / "ca.crt"),
    )
    listener = Collector(port, pki)
    yield listener
    listener.stop()


@pytest.fixture(scope="module")
def schema() -> etree.RelaxNG:
    return etree.RelaxNG(etree.parse(str(atna.SCHEMA)))


def _xml(message: bytes) -> etree._Element:
    match = HEADER.match(message)
    assert match is not None, message[:120]
    assert int(match.group(1)) == atna.PRI
    assert match.group(4) == b"hounsfield"
    return etree.fromstring(message[match.end() :])


def _export(sender: atna.SyslogSender) -> int:
    service.flush_buffer()
    service.seal_all()
    return atna.export_pending(sender, "HOUNSFIELD")


def _sealed_total() -> int:
    """Write and seal what is pending (as the sealer thread does), then count the chain."""
    service.flush_buffer()
    service.seal_all()
    with service.transaction() as session:
        return service.verify(session).checked


def test_every_kind_of_event_is_a_valid_a5_message(
    collector: Collector, schema: etree.RelaxNG, client: TestClient, auth_headers: Any
) -> None:
    collector.start()
    headers = auth_headers("admin")  # a login (110114)
    client.get("/api/audit", headers=headers)  # audit log used (110101)
    client.get("/api/users", headers=auth_headers("nurse"))  # denied (110113)
    service.record_access(
        "image.retrieve", Anonymous("ae:VIEWER"), resource_type="study",
        resource_id="1.2.3", patient_id="PID-1",
        detail={"instances": ["1.2.3.4", "1.2.3.5"]},
    )  # fmt: skip
    sent = _sealed_total()  # the server's exporter thread sends them to the collector
    messages = collector.wait_for(sent)
    assert sent >= 5
    assert len(messages) == sent
    codes = set()
    for message in messages:
        doc = _xml(message)
        assert schema.validate(doc), schema.error_log
        codes.add(doc.find("EventIdentification/EventID").get("csd-code"))
    assert {"110114", "110101", "110113", "110106"} <= codes
    broken = _xml(messages[0])
    broken.find("EventIdentification").remove(broken.find("EventIdentification/EventID"))
    assert not schema.validate(broken)  # the schema is not vacuous
    retrieve = _xml(messages[-1])
    assert retrieve.find("EventIdentification").get("EventActionCode") == "R"
    study = retrieve.findall("ParticipantObjectIdentification")[1]
    assert study.get("ParticipantObjectID") == "1.2.3"
    assert study.find("NumberOfInstances").text == "2"


def test_reads_while_the_collector_is_down_all_arrive_later(
    collector: Collector, schema: etree.RelaxNG, client: TestClient, auth_headers: Any
) -> None:
    headers = auth_headers("technician")
    data = sample_file("CT_small.dcm")
    ds = read_dataset(data)
    body, content_type = multipart_body([data])
    stored = client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": content_type}
    )
    assert stored.status_code == 200
    path = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/metadata"
    )
    sender = atna.SyslogSender(get_settings().audit)
    with pytest.raises(ConnectionRefusedError):  # the collector is down
        _export(sender)
    for _ in range(50):
        assert client.get(path, headers={**headers, "Accept": "application/dicom+json"}).is_success
    total = _sealed_total()
    with pytest.raises(ConnectionRefusedError):  # still down: the events wait in the table
        _export(sender)
    collector.start()  # the server's exporter thread catches up
    messages = collector.wait_for(total)
    assert len(messages) == total  # every sealed event, once
    retrieves = []
    for message in messages:
        doc = _xml(message)
        assert schema.validate(doc), schema.error_log
        if doc.find("EventIdentification/EventID").get("csd-code") == "110106":
            retrieves.append(doc)
    assert len(retrieves) == 50


def test_a_collector_certified_by_another_ca_gets_nothing(collector: Collector, pki: Path) -> None:
    """The exporter sends only to a collector whose certificate its CA signed."""
    collector.context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    (pki / "other").mkdir(exist_ok=True)
    other = pki / "other"
    _openssl("req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2", "-keyout",
             str(other / "k"), "-out", str(other / "c"), "-subj", "/CN=impostor",
             "-addext", "subjectAltName=IP:127.0.0.1")  # fmt: skip
    collector.context.load_cert_chain(other / "c", other / "k")
    collector.start()
    service.record_access("image.retrieve", Anonymous("reader"), resource_id="1.2.3")
    sender = atna.SyslogSender(get_settings().audit)
    with pytest.raises(ssl.SSLError):
        _export(sender)
    assert collector.messages == []
