"""API keys of service accounts (issue 12.10): PACS gateways, AI engines, scripts.

An administrator creates a key for a role; it is shown once. A key is
`hfk_<prefix>_<secret>`: the prefix finds the row, the whole key is checked against its
keyed hash (HMAC-SHA256 under HOUNSFIELD_API_KEY_SECRET, a key of its own: neither a
database dump nor the token key lets anyone test guesses). Each key has its own service
account (a User without a password), so every audit event names it. Keys expire and can
be revoked; changing HOUNSFIELD_API_KEY_SECRET invalidates every API key.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import time
import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth.keys import api_key_secret
from hounsfield.auth.models import ApiKey
from hounsfield.config import Settings
from hounsfield.db import after_commit, utcnow
from hounsfield.errors import Conflict, NotAuthenticated, NotFound, Unprocessable
from hounsfield.users.models import Role, User

SCHEME = "hfk_"
NO_PASSWORD = "!"  # nosec B105: not a hash any password matches: the account cannot log in
LAST_USED_EVERY = timedelta(minutes=1)  # last_used_at is written at most this often
CACHE_SECONDS = 5.0  # like users (auth/deps.py): revocation here is immediate, elsewhere ≤5 s


class ApiKeyRefused(NotAuthenticated):
    """The API key is unknown, revoked or expired."""

    code = "api_key_invalid"


class ApiKeyNotFound(NotFound):
    """No such API key."""

    code = "api_key_not_found"


class ApiKeyNameTaken(Conflict):
    """An API key (or a user) of this name exists."""

    code = "duplicate_name"


class UnknownRole(Unprocessable):
    """The role named does not exist."""

    code = "unknown_roles"


@dataclass(frozen=True)
class _Verified:
    key_id: uuid.UUID
    user_id: uuid.UUID
    key_hash: str
    expires_at: datetime
    revoked: bool
    checked_until: float


_cache: dict[str, _Verified] = {}
_cache_lock = threading.Lock()


def forget() -> None:
    with _cache_lock:
        _cache.clear()


def is_api_key(credential: str) -> bool:
    return credential.startswith(SCHEME)


def _hash(settings: Settings, key: str) -> str:
    return hmac.new(api_key_secret(settings).encode(), key.encode(), hashlib.sha256).hexdigest()


def service_username(name: str) -> str:
    return f"svc.{name}"


@dataclass
class CreatedKey:
    row: ApiKey
    account: User
    key: str  # the only time it exists outside the caller's hands


def create(
    session: Session, settings: Settings, actor: Actor, name: str, role: str, days: int
) -> CreatedKey:
    """A new key and its service account with `role`; audited (never the key itself)."""
    role_row = session.scalar(select(Role).where(Role.name == role))
    if role_row is None:
        raise UnknownRole(details={"roles": [role]})
    username = service_username(name)
    taken = session.scalar(select(ApiKey.id).where(ApiKey.name == name)) or session.scalar(
        select(User.id).where(User.username == username)
    )
    if taken:
        raise ApiKeyNameTaken(f"The name {name!r} is taken.")
    account = User(
        username=username,
        display_name=f"API key {name}",
        password_hash=NO_PASSWORD,
        service_account=True,
        roles=[role_row],
    )
    session.add(account)
    session.flush()
    prefix = secrets.token_hex(6)
    key = f"{SCHEME}{prefix}_{secrets.token_urlsafe(32)}"
    row = ApiKey(
        name=name,
        prefix=prefix,
        key_hash=_hash(settings, key),
        user_id=account.id,
        created_by=actor.username,
        expires_at=utcnow() + timedelta(days=days),
    )
    session.add(row)
    session.flush()
    audit.record(
        session, "api_key.create", actor, resource_type="api_key", resource_id=str(row.id),
        detail={"name": name, "prefix": prefix, "role": role, "expires_at": str(row.expires_at)},
    )  # fmt: skip
    return CreatedKey(row=row, account=account, key=key)


def list_keys(session: Session) -> list[tuple[ApiKey, User]]:
    rows = session.execute(
        select(ApiKey, User).join(User, User.id == ApiKey.user_id).order_by(ApiKey.name)
    )
    return [(key, user) for key, user in rows]


def revoke(session: Session, actor: Actor, key_id: uuid.UUID) -> None:
    """Revoke a key and disable its service account; audited."""
    row = session.get(ApiKey, key_id)
    if row is None:
        raise ApiKeyNotFound()
    if row.revoked_at is None:
        row.revoked_at = utcnow()
        account = session.get(User, row.user_id)
        if account is not None:
            account.active = False
    audit.record(
        session, "api_key.revoke", actor, resource_type="api_key", resource_id=str(row.id),
        detail={"name": row.name, "prefix": row.prefix},
    )  # fmt: skip
    after_commit(session, forget)


def _lookup(session: Session, prefix: str) -> _Verified | None:
    now = time.monotonic()
    with _cache_lock:
        cached = _cache.get(prefix)
    if cached is not None and cached.checked_until > now:
        return cached
    row = session.scalar(select(ApiKey).where(ApiKey.prefix == prefix))
    if row is None:
        return None
    found = _Verified(
        row.id, row.user_id, row.key_hash, row.expires_at, row.revoked_at is not None,
        now + CACHE_SECONDS,
    )  # fmt: skip
    with _cache_lock:
        if len(_cache) > 10_000:
            _cache.clear()
        _cache[prefix] = found
    return found


def authenticate(session: Session, settings: Settings, key: str) -> tuple[uuid.UUID, str]:
    """The service account's id and the key's prefix, or ApiKeyRefused."""
    prefix, _, rest = key.removeprefix(SCHEME).partition("_")
    if not prefix or not rest or len(key) > 128:
        raise ApiKeyRefused()
    found = _lookup(session, prefix)
    expected = found.key_hash if found else _hash(settings, "no such key")
    valid = hmac.compare_digest(_hash(settings, key), expected)  # constant time either way
    if found is None or not valid:
        raise ApiKeyRefused()
    if found.revoked:
        raise ApiKeyRefused("The API key has been revoked.")
    if utcnow() >= found.expires_at:
        raise ApiKeyRefused("The API key has expired.")
    return found.user_id, prefix


_noted: dict[str, float] = {}


def due_for_note(prefix: str) -> bool:
    """Whether this process should write last_used_at now (at most once a minute a key)."""
    now = time.monotonic()
    with _cache_lock:
        if _noted.get(prefix, 0.0) > now:
            return False
        if len(_noted) > 10_000:
            _noted.clear()
        _noted[prefix] = now + LAST_USED_EVERY.total_seconds()
    return True


def note_use(session: Session, prefix: str) -> None:
    """Keep last_used_at roughly current (see due_for_note)."""
    now = utcnow()
    session.execute(
        update(ApiKey)
        .where(ApiKey.prefix == prefix)
        .where((ApiKey.last_used_at.is_(None)) | (ApiKey.last_used_at < now - LAST_USED_EVERY))
        .values(last_used_at=now)
    )
