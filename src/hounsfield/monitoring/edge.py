"""Pure-ASGI middleware at the HTTP edge: response security headers and per-user rate limits.

Both run before routing, so they cover every route, including ones added later.
"""

from __future__ import annotations

import json
import logging
import math
import time

import anyio.to_thread
import jwt
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from hounsfield import context
from hounsfield.auth import tokens
from hounsfield.config import get_settings
from hounsfield.kv import get_store

logger = logging.getLogger(__name__)

# Paths that carry patient data or account data: never cached, never sniffed.
PROTECTED_PREFIXES = ("/api", "/dicom-web", "/wado")
WINDOW_S = 60
clock = time.time  # tests move it


def _protected(path: str) -> bool:
    return any(path == p or path.startswith(p + "/") for p in PROTECTED_PREFIXES)


class SecurityHeadersMiddleware:
    """`X-Content-Type-Options: nosniff` on every response; `Cache-Control: no-store` on
    the API and DICOMweb unless a route chose its own caching (issue 14.16, SECURITY I8)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        no_store = _protected(scope.get("path", ""))

        async def send_wrapper(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [(k, v) for k, v in message.get("headers", []) if k.lower() != b"server"]
                names = {k.lower() for k, _ in headers}
                if b"x-content-type-options" not in names:
                    headers.append((b"x-content-type-options", b"nosniff"))
                if no_store and b"cache-control" not in names:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_wrapper)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            scheme, _, token = value.decode("latin-1").partition(" ")
            return token.strip() if scheme.lower() == "bearer" else None
    return None


def _language(scope: Scope) -> str:
    for name, value in scope.get("headers", []):
        if name == b"accept-language":
            first = value.decode("latin-1").split(",")[0].strip().lower()
            return "en" if first.startswith("en") else "zh"
    return "zh"


_MESSAGES = {
    "zh": "请求过于频繁，请在 {s} 秒后重试。",
    "en": "Too many requests; try again in {s} seconds.",
}


class RateLimitMiddleware:
    """Per-user (a valid access token's subject) and per-address (no valid token) request
    limits on the API and DICOMweb, in fixed one-minute windows kept in the shared
    key-value store: in process in embedded mode, in Redis in production (SECURITY L2).

    The token's signature is checked here, so a forged subject cannot spend another
    user's budget; revocation and permissions are left to the route's dependencies.
    """

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not _protected(scope.get("path", "")):
            await self.app(scope, receive, send)
            return
        # Off the event loop: the count is a Redis or SQLite round trip that may stall.
        retry_after = await anyio.to_thread.run_sync(self._spend, scope)
        if retry_after is None:
            await self.app(scope, receive, send)
            return
        text = _MESSAGES[_language(scope)].format(s=retry_after)
        body = json.dumps(
            {"error": {"code": "rate_limited", "message": text, "details": None}},
            ensure_ascii=False,
        ).encode()
        await send(
            {
                "type": "http.response.start",
                "status": 429,
                "headers": [
                    (b"content-type", b"application/json"),
                    (b"content-length", str(len(body)).encode()),
                    (b"retry-after", str(retry_after).encode()),
                ],
            }
        )
        await send({"type": "http.response.body", "body": body})

    def _spend(self, scope: Scope) -> int | None:
        """Count this request; the seconds to wait when over the limit, else None."""
        who, limit = self._who(scope)
        if limit <= 0:
            return None
        now = clock()
        window = int(now // WINDOW_S)
        try:
            count = get_store().incr(f"rate:{who}:{window}", WINDOW_S + 1)
        except Exception:  # an unreachable store must not take image reads down with it (D5)
            logger.warning("rate limit store unavailable; request not counted")
            return None
        if count <= limit:
            return None
        return max(1, math.ceil((window + 1) * WINDOW_S - now))

    @staticmethod
    def _who(scope: Scope) -> tuple[str, int]:
        conf = get_settings().http
        token = _bearer(scope)
        if token:
            try:
                claims = tokens.decode_access_token(get_settings(), token)
            except jwt.PyJWTError:
                pass
            else:
                return f"u:{claims.user_id}", conf.rate_limit_per_minute
        address = context.client_ip.get() or (scope.get("client") or ("-", 0))[0]
        return f"ip:{address}", conf.anonymous_rate_limit_per_minute
