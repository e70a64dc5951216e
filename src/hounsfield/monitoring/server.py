"""uvicorn at the edge: slow-client deadlines and a connection cap (SECURITY L3, issue 14.18).

uvicorn closes idle keep-alive connections, but a client that sends its headers one byte at
a time (slow loris), or stalls in the middle of a body, keeps its socket and its request
task forever. `GuardedHttpProtocol` adds the two deadlines nginx has in production
(`client_header_timeout`, `client_body_timeout`): the request line and headers must arrive
within `header_timeout_s` of the request's first byte (or of the connection), and a body
may pause for at most `body_timeout_s`. Beyond either the connection is closed (with a 408
when no response has started).
"""

from __future__ import annotations

import asyncio
from typing import Any

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from hounsfield.config import Settings, get_settings

_TIMEOUT_RESPONSE = (
    b"HTTP/1.1 408 Request Timeout\r\ncontent-type: text/plain; charset=utf-8\r\n"
    b"connection: close\r\ncontent-length: 16\r\n\r\nrequest timeout\n"
)


class GuardedHttpProtocol(HttpToolsProtocol):
    """httptools' protocol with a header deadline and a body idle deadline (from the
    settings, read in each worker process: the class must stay importable by name)."""

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        conf = get_settings().http
        self.header_timeout_s = conf.header_timeout_s
        self.body_timeout_s = conf.body_timeout_s
        self._deadline: asyncio.TimerHandle | None = None
        super().connection_made(transport)
        self._arm(self.header_timeout_s, header=True)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm()
        super().connection_lost(exc)

    def on_message_begin(self) -> None:
        super().on_message_begin()
        if self._deadline is None:  # the next request on a kept-alive connection
            self._arm(self.header_timeout_s, header=True)

    def on_headers_complete(self) -> None:
        self._disarm()
        super().on_headers_complete()
        if self.cycle is not None and self.cycle.more_body:
            self._arm(self.body_timeout_s, header=False)

    def on_body(self, body: bytes) -> None:
        super().on_body(body)
        self._arm(self.body_timeout_s, header=False)

    def on_message_complete(self) -> None:
        self._disarm()
        super().on_message_complete()

    def _arm(self, delay: float, *, header: bool) -> None:
        self._disarm()
        self._deadline = self.loop.call_later(delay, self._expired, header)

    def _disarm(self) -> None:
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None

    def _expired(self, header: bool) -> None:
        self._deadline = None
        if self.transport.is_closing():
            return
        if not header and self.flow.read_paused:  # we stopped reading, not the client
            self._arm(self.body_timeout_s, header=False)
            return
        if self.cycle is None or not self.cycle.response_started:
            self.transport.write(_TIMEOUT_RESPONSE)
        self.transport.close()


def uvicorn_options(settings: Settings) -> dict[str, Any]:
    """Keyword arguments for `uvicorn.run`/`uvicorn.Config` that bound slow clients and
    connections, and keep the server's name out of responses."""
    conf = settings.http
    return {
        "http": GuardedHttpProtocol,
        "limit_concurrency": conf.max_connections,
        "timeout_keep_alive": conf.keep_alive_s,
        "server_header": False,
    }
