"""Real local receivers for the notification channels: an SMTP server (aiosmtpd, with a
self-signed certificate for STARTTLS and implicit TLS) and an HTTP receiver thread."""

from __future__ import annotations

import datetime
import ipaddress
import json
import queue
import ssl
import threading
from collections.abc import Callable
from dataclasses import dataclass
from email import message_from_bytes, policy
from email.message import EmailMessage
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.live_server import free_port

WAIT_S = 30.0  # an upper bound on waiting for an event, never a timing assertion


def self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1/localhost and its key, as PEM files."""
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = datetime.datetime.now(datetime.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = directory / "smtp.crt", directory / "smtp.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@dataclass
class Mail:
    sender: str
    recipients: list[str]
    message: EmailMessage
    tls: bool


class _Inbox:
    def __init__(self) -> None:
        self.mails: queue.Queue[Mail] = queue.Queue()

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        tls = server.transport.get_extra_info("ssl_object") is not None
        message = message_from_bytes(envelope.original_content, policy=policy.default)
        self.mails.put(Mail(envelope.mail_from, list(envelope.rcpt_tos), message, tls))
        return "250 OK"


class SmtpServer:
    """aiosmtpd on a free port: `starttls` requires STARTTLS, `tls` is implicit TLS."""

    def __init__(self, cert: Path, key: Path, security: str) -> None:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        self.inbox = _Inbox()
        kwargs: dict[str, Any] = (
            {"ssl_context": context}
            if security == "tls"
            else {"tls_context": context, "require_starttls": True}
        )
        self.port = free_port()
        self.controller = Controller(self.inbox, hostname="127.0.0.1", port=self.port, **kwargs)

    def start(self) -> int:
        self.controller.start()
        return self.port

    def stop(self) -> None:
        self.controller.stop()

    def next_mail(self) -> Mail:
        return self.inbox.mails.get(timeout=WAIT_S)


@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


class HttpReceiver:
    """An HTTP server thread that keeps each request and answers what `reply` says."""

    def __init__(self, reply: Callable[[Received], tuple[int, bytes]] | None = None) -> None:
        self.requests: queue.Queue[Received] = queue.Queue()
        self.errors: list[Exception] = []
        self.reply = reply or (lambda _r: (200, b'{"Code": "OK", "errcode": 0}'))
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                length = int(self.headers.get("Content-Length", "0"))
                got = Received("POST", self.path, {k.lower(): v for k, v in self.headers.items()},
                               self.rfile.read(length))  # fmt: skip
                receiver.requests.put(got)
                try:
                    status, body = receiver.reply(got)
                except Exception as exc:  # a check of the receiver failed: the test sees it
                    receiver.errors.append(exc)
                    status, body = 500, b"{}"
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *_args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}"

    def __enter__(self) -> HttpReceiver:
        self.thread.start()
        return self

    def __exit__(self, *_exc: object) -> None:
        self.server.shutdown()
        self.server.server_close()

    def next_request(self) -> Received:
        return self.requests.get(timeout=WAIT_S)
