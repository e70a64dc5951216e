"""Dependencies that authenticate a request and check its permission.

Every route declares exactly one of `require(permission)`, `Authenticated` or `public`;
tests/test_route_protection.py fails on any route that declares none.
"""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Callable
from typing import Annotated, Any

import jwt
from fastapi import Depends, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from hounsfield.audit import service as audit
from hounsfield.audit.service import Anonymous, Outcome
from hounsfield.auth import api_keys, scope, service, tokens
from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.errors import NotAuthenticated, PermissionDenied
from hounsfield.kv import StoreUnavailable, get_store
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

# Users with their roles, kept briefly so that a request costs no extra database round trip.
# A change (forget_users, after its commit) bumps a generation in the shared store, and every
# process drops its cache when it sees a new one; USER_CACHE_SECONDS bounds any staleness.
USER_CACHE_SECONDS = 5.0
_GENERATION_KEY = "users:generation"
_user_cache: dict[uuid.UUID, tuple[float, User | None]] = {}
_user_cache_lock = threading.Lock()
_seen_generation: list[str | None] = [None]


def forget_users() -> None:
    """Drop cached users (after a change of users, roles or permissions), in every process."""
    with _user_cache_lock:
        _user_cache.clear()
    try:
        get_store().incr(_GENERATION_KEY, 366 * 86400)
    except StoreUnavailable:  # the others fall back to USER_CACHE_SECONDS
        pass


def _load_user(user_id: uuid.UUID) -> User | None:
    now = time.monotonic()
    try:
        generation: str | None = get_store().get(_GENERATION_KEY)
    except StoreUnavailable:  # changes elsewhere cannot be known: read the database
        generation = "unknown"
    with _user_cache_lock:
        if generation != _seen_generation[0] or generation == "unknown":
            _user_cache.clear()
            _seen_generation[0] = generation
        cached = _user_cache.get(user_id)
    if cached is not None and cached[0] > now:
        return cached[1]
    with transaction() as session:
        user = session.get(User, user_id)
        if user is not None:
            _ = user.permissions, user.groups  # load them while the session is open
    with _user_cache_lock:
        if len(_user_cache) > 10_000:
            _user_cache.clear()
        _user_cache[user_id] = (now + USER_CACHE_SECONDS, user)
    return user


def _revoked(claims: tokens.AccessClaims) -> bool:
    """Redis first; while it is unreachable, the database (a logout always revokes the
    session's refresh family there), so reads go on and revocation still holds."""
    try:
        return service.is_revoked(get_store(), claims)
    except StoreUnavailable:
        with transaction() as session:
            return service.session_revoked(session, claims.session_id)


# What a user whose password an administrator set may still do: see who they are, change
# the password, log out. Everything else waits for the change (issue 13).
PASSWORD_CHANGE_PATHS = frozenset({"/api/auth/me", "/api/auth/password", "/api/auth/logout"})

_bearer = HTTPBearer(auto_error=False, description="Access token from POST /api/auth/login")


def _authenticate(
    request: Request,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> User:
    try:
        user = _check_credentials(request, credentials)
    except NotAuthenticated as exc:
        audit_refusal(request, exc.code, str(exc))
        raise
    if user.must_change_password and request.url.path not in PASSWORD_CHANGE_PATHS:
        audit.record_access(
            "access.denied", user, outcome=Outcome.minor_failure,
            detail={"code": service.PasswordChangeRequired.code, "path": request.url.path},
        )  # fmt: skip
        raise service.PasswordChangeRequired()
    if user.groups:  # only scoped users cost a query (their break-glass state)
        with transaction() as session:
            request.state.read_scope = scope.readable(session, user)
    else:
        request.state.read_scope = scope.ReadScope(None, actor=user)
    return user


def audit_refusal(request: Request, code: str, reason: str) -> None:
    """Every 401 leaves a Security Alert (buffered like reads: no write per refusal)."""
    audit.record_access(
        "auth.denied", Anonymous(username="-"), outcome=Outcome.minor_failure,
        detail={"code": code, "reason": reason, "path": request.url.path},
    )  # fmt: skip


def _check_credentials(request: Request, credentials: HTTPAuthorizationCredentials | None) -> User:
    if credentials is None or credentials.scheme.lower() != "bearer":
        raise NotAuthenticated()
    if api_keys.is_api_key(credentials.credentials):
        return _check_api_key(request, credentials.credentials)
    settings = get_settings()
    try:
        claims = tokens.decode_access_token(settings, credentials.credentials)
    except jwt.PyJWTError as exc:
        raise NotAuthenticated("The access token is invalid or expired.") from exc
    if _revoked(claims):
        raise NotAuthenticated("The access token has been revoked.")
    user = _load_user(claims.user_id)
    if user is None or not user.active:
        raise NotAuthenticated("The account is disabled.")
    request.state.user = user
    request.state.claims = claims
    return user


def _check_api_key(request: Request, key: str) -> User:
    """A service account's request: every use is audited (buffered, like reads)."""
    with transaction() as session:
        user_id, prefix = api_keys.authenticate(session, get_settings(), key)
    user = _load_user(user_id)
    if user is None or not user.active:
        raise api_keys.ApiKeyRefused("The service account is disabled.")
    request.state.user = user
    request.state.claims = None  # no session: nothing to log out
    audit.record_access("auth.api_key", user, detail={"prefix": prefix, "path": request.url.path})
    if api_keys.due_for_note(prefix):
        with transaction(write=True) as session:
            api_keys.note_use(session, prefix)
    return user


async def _scoped(request: Request, user: Annotated[User, Depends(_authenticate)]) -> User:
    """Binds the reader's scope for this request (auth/scope.py). Async on purpose: a
    context variable set here, in the request's task, is seen by the sync endpoint."""
    scope.bind(request.state.read_scope)
    return user


CurrentUser = Annotated[User, Depends(_scoped)]
Authenticated = CurrentUser


def require(permission: Permission) -> Callable[..., User]:
    """Dependency: the current user, if one of their roles grants `permission`."""

    def check(request: Request, user: CurrentUser) -> User:
        if permission.value not in user.permissions:
            audit.record_now(
                "access.denied", user, outcome=Outcome.minor_failure,
                detail={"permission": permission.value, "path": request.url.path},
            )  # fmt: skip
            raise PermissionDenied(
                f"This needs the permission {permission.value}.",
                details={"permission": permission.value},
            )
        return user

    check.__hounsfield_permission__ = permission  # type: ignore[attr-defined]
    return check


def public() -> None:
    """Marks a route that needs no authentication (health checks, login)."""


Public = Depends(public)


def requires(permission: Permission) -> Any:
    """`user: Annotated[User, requires(Permission.x)]` shorthand."""
    return Depends(require(permission))
