"""Pure-ASGI middleware: request id, client address, access log and Prometheus metrics."""

from __future__ import annotations

import ipaddress
import re
import secrets
import time
from typing import Any

import structlog
from prometheus_client import Counter, Histogram
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hounsfield import context

REQUESTS = Counter("hounsfield_http_requests_total", "HTTP requests", ["method", "route", "status"])
LATENCY = Histogram(
    "hounsfield_http_request_duration_seconds",
    "HTTP request latency",
    ["method", "route"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30),
)
_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
access_log = structlog.get_logger("hounsfield.access")


def _client_ip(scope: Scope, headers: dict[bytes, bytes], trusted: set[str]) -> str:
    peer = (scope.get("client") or ("-", 0))[0]
    forwarded = headers.get(b"x-forwarded-for")
    if forwarded and peer in trusted:
        candidate = forwarded.decode("latin-1").split(",")[0].strip()
        try:
            return str(ipaddress.ip_address(candidate))
        except ValueError:
            return str(peer)
    return str(peer)


class RequestContextMiddleware:
    def __init__(self, app: ASGIApp, trusted_proxies: list[str] | None = None) -> None:
        self.app = app
        self.trusted = set(trusted_proxies or [])

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope["headers"])
        incoming = headers.get(b"x-request-id", b"").decode("latin-1")
        rid = incoming if _REQUEST_ID.match(incoming) else secrets.token_hex(8)
        rid_token = context.request_id.set(rid)
        ip_token = context.client_ip.set(_client_ip(scope, headers, self.trusted))
        status = 500
        start = time.perf_counter()

        async def send_wrapper(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [*message["headers"], (b"x-request-id", rid.encode())]
            await send(message)

        try:
            await self.app(scope, receive, send_wrapper)
        finally:
            elapsed = time.perf_counter() - start
            route: Any = scope.get("route")
            template = getattr(route, "path", None) or "unmatched"
            method = scope.get("method", "-")
            REQUESTS.labels(method, template, str(status)).inc()
            LATENCY.labels(method, template).observe(elapsed)
            # The route template, never the concrete path: paths carry UIDs and patient IDs.
            access_log.info(
                "request", method=method, route=template, status=status,
                duration_ms=round(elapsed * 1000, 1),
            )  # fmt: skip
            context.request_id.reset(rid_token)
            context.client_ip.reset(ip_token)
