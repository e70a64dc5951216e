"""The MLLP listener (HL7 v2 minimal lower layer protocol): frames in, ACKs out.

A frame is <VT> message <FS><CR> (HL7 v2.5 appendix C). A connection carries any number
of messages, each answered before the next is read. Peers are limited to
`hl7.allowed_peers` (MLLP has no authentication of its own; SECURITY.md), a frame to
`hl7.max_message_bytes`, and an idle connection to `hl7.timeout_s`.
"""

from __future__ import annotations

import ipaddress
import logging
import socket
import socketserver
import threading
from typing import Any

from hounsfield.config import Settings, get_settings
from hounsfield.hl7 import service

logger = logging.getLogger(__name__)

START, END = b"\x0b", b"\x1c\x0d"


def frame(message: str, encoding: str = "utf-8") -> bytes:
    return START + message.encode(encoding) + END


def _allowed(address: str, allowed: list[str]) -> bool:
    ip = ipaddress.ip_address(address)
    return any(ip in ipaddress.ip_network(net, strict=False) for net in allowed)


class _Handler(socketserver.BaseRequestHandler):
    server: Hl7Server

    def handle(self) -> None:
        settings = self.server.settings.hl7
        peer = str(self.client_address[0])
        if not _allowed(peer, settings.allowed_peers):
            logger.warning("hl7 connection refused: peer not allowed")
            return
        self.request.settimeout(settings.timeout_s)
        buffer = b""
        while True:
            try:
                chunk = self.request.recv(65536)
            except (TimeoutError, OSError):
                return
            if not chunk:
                return
            buffer += chunk
            while END in buffer:
                raw, _, buffer = buffer.partition(END)
                self._answer(raw, peer)
            if len(buffer) > settings.max_message_bytes:
                self._reply(service.receive_oversized(peer))
                return

    def _answer(self, raw: bytes, peer: str) -> None:
        start = raw.find(START)
        body = raw[start + 1 :] if start >= 0 else raw
        encoding = self.server.settings.hl7.encoding
        try:
            text = body.decode(encoding)
        except UnicodeDecodeError:
            text = body.decode(encoding, errors="replace")  # refused below, kept for review
            outcome = service.refuse_undecodable(text, peer, encoding)
        else:
            outcome = service.receive(text.strip("\r\n") + "\r", peer)
        self._reply(outcome)

    def _reply(self, outcome: service.Outcome) -> None:
        self.request.sendall(frame(outcome.ack, "utf-8"))


class Hl7Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        super().__init__((settings.hl7.host, settings.hl7.port or 0), _Handler)

    def server_bind(self) -> None:
        self.socket.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        super().server_bind()

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class Hl7Listener:
    """The listener in a background thread (embedded in `serve`, or in tests)."""

    def __init__(self, settings: Settings) -> None:
        self.server = Hl7Server(settings)
        self.thread = threading.Thread(
            target=self.server.serve_forever, name="hl7-listener", daemon=True
        )

    @property
    def port(self) -> int:
        return self.server.port

    def start(self) -> None:
        self.thread.start()
        logger.info("HL7 listener on %s:%s", self.server.settings.hl7.host, self.port)

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
        self.thread.join(timeout=10)


DEFAULT_PORT = 2575  # IANA's port for HL7 over MLLP


def serve() -> None:
    """`hounsfield hl7`: the listener in the foreground until interrupted."""
    settings = get_settings()
    if settings.hl7.port is None:
        settings = settings.model_copy(
            update={"hl7": settings.hl7.model_copy(update={"port": DEFAULT_PORT})}
        )
    server = Hl7Server(settings)
    logger.info("HL7 listener on %s:%s", settings.hl7.host, server.port)
    try:
        server.serve_forever()
    finally:
        server.server_close()


_embedded: Hl7Listener | None = None


def start_embedded() -> Any:
    """In embedded mode, run the listener inside `serve` when a port is configured."""
    global _embedded
    settings = get_settings()
    if settings.mode != "embedded" or settings.hl7.port is None or _embedded is not None:
        return None
    try:
        listener = Hl7Listener(settings)
    except OSError as exc:
        logger.error("HL7 listener not started: %s", exc)
        return None
    listener.start()
    _embedded = listener
    return listener


def stop_embedded() -> None:
    global _embedded
    listener, _embedded = _embedded, None
    if listener is not None:
        listener.stop()
