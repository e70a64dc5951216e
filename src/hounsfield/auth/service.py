"""Login, refresh-token rotation, logout and password changes."""

from __future__ import annotations

import logging
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Anonymous, Outcome
from hounsfield.auth import passwords, tokens
from hounsfield.auth.models import RefreshToken
from hounsfield.config import Settings, get_settings
from hounsfield.db import after_commit, utcnow
from hounsfield.errors import (
    HounsfieldError,
    NotAuthenticated,
    PermissionDenied,
    TooManyRequests,
    Unprocessable,
)
from hounsfield.kv import KeyValueStore, StoreUnavailable, get_store
from hounsfield.users.models import User

logger = logging.getLogger(__name__)


class InvalidCredentials(NotAuthenticated):
    """Wrong username or password."""

    code = "invalid_credentials"


class AccountLocked(HounsfieldError):
    """Too many failed logins: this account is locked for a while."""

    status_code = 423
    code = "account_locked"


class RefreshInvalid(NotAuthenticated):
    """The session has ended; please log in again."""

    code = "session_expired"


class PasswordRejected(Unprocessable):
    """The new password does not meet the password policy."""

    code = "password_rejected"


class PasswordChangeRequired(PermissionDenied):
    """请先修改密码：该密码由管理员设置，修改后才能使用系统。"""

    code = "password_change_required"
    english = "Change your password first: it was set by an administrator."


class Failure(StrEnum):
    bad_credentials = "bad_credentials"
    inactive = "inactive"
    locked = "locked"
    throttled = "throttled"
    unavailable = "security_state_unavailable"  # Redis unreachable: fail closed


@dataclass
class TokenPair:
    user: User
    access_token: str
    expires_in: int
    refresh_token: str
    refresh_expires_in: int


@dataclass
class LoginOutcome:
    tokens: TokenPair | None = None
    failure: Failure | None = None
    retry_after: int = 0

    def raise_for_failure(self, english: bool = False) -> TokenPair:
        """Turn a refused login into its HTTP error (after the audit row has committed)."""
        headers = {"Retry-After": str(max(1, self.retry_after))}
        if self.failure is Failure.unavailable:
            message = StoreUnavailable.english if english else ""
            raise StoreUnavailable(message, headers={"Retry-After": "5"})
        if self.failure is Failure.throttled:
            raise TooManyRequests(
                "Too many failed logins from this address.", headers=headers,
                details={"retry_after": self.retry_after},
            )  # fmt: skip
        if self.failure is Failure.locked:
            raise AccountLocked(headers=headers, details={"retry_after": self.retry_after})
        if self.failure is not None or self.tokens is None:
            raise InvalidCredentials()
        return self.tokens


def _user_key(username: str) -> str:
    return username.strip().casefold()


def is_locked(store: KeyValueStore, username: str) -> bool:
    """Whether failed logins have locked the account (StoreUnavailable without Redis)."""
    return store.get(f"lock:{_user_key(username)}") is not None


def unlock(store: KeyValueStore, username: str) -> bool:
    """End a lockout and forget the failures counted so far. True if it was locked."""
    who = _user_key(username)
    locked = store.get(f"lock:{who}") is not None
    store.delete(f"lock:{who}")
    store.delete(f"fail:{who}")
    return locked


def login(
    session: Session,
    settings: Settings,
    store: KeyValueStore,
    username: str,
    password: str,
    client_ip: str,
) -> LoginOutcome:
    """Check a password under per-account lockout and per-IP throttling; audit either way.

    Without the lockout and throttling state (Redis unreachable) no password is checked:
    the login is refused (fails closed) rather than allowing unlimited guesses.
    """
    user = session.scalar(select(User).where(User.username == username.strip()))
    claimed = user if user is not None else Anonymous(username=username[:64])

    def refuse(failure: Failure, retry_after: int = 0) -> LoginOutcome:
        audit.record(
            session, "auth.login", claimed, outcome=Outcome.minor_failure,
            detail={"reason": failure.value},
        )  # fmt: skip
        return LoginOutcome(failure=failure, retry_after=retry_after)

    try:
        return _login(session, settings, store, user, username, password, client_ip, refuse)
    except StoreUnavailable:
        return refuse(Failure.unavailable)


def _login(
    session: Session,
    settings: Settings,
    store: KeyValueStore,
    user: User | None,
    username: str,
    password: str,
    client_ip: str,
    refuse: Callable[..., LoginOutcome],
) -> LoginOutcome:
    cfg = settings.auth
    who = _user_key(username)
    ip_key, fail_key, lock_key = f"ipfail:{client_ip}", f"fail:{who}", f"lock:{who}"
    ip_failures = int(store.get(ip_key) or 0)
    if ip_failures >= cfg.ip_max_failed_logins:
        return refuse(Failure.throttled, store.ttl(ip_key))
    if store.get(lock_key):
        return refuse(Failure.locked, store.ttl(lock_key))

    if user is None:
        passwords.dummy_verify(password)
        valid = False
    else:
        valid = passwords.verify_password(user.password_hash, password)
    if not valid or user is None or not user.active:
        store.incr(ip_key, cfg.ip_window_minutes * 60)
        failures = store.incr(fail_key, cfg.lockout_minutes * 60)
        if failures >= cfg.max_failed_logins:
            store.set(lock_key, "1", cfg.lockout_minutes * 60)
            store.delete(fail_key)
        inactive = valid and user is not None and not user.active
        return refuse(Failure.inactive if inactive else Failure.bad_credentials)

    store.delete(fail_key)
    if passwords.needs_rehash(user.password_hash):
        user.password_hash = passwords.hash_password(password)
    audit.record(session, "auth.login", user)
    return LoginOutcome(tokens=_start_family(session, settings, user))


def _issue(
    session: Session, settings: Settings, user: User, family_id: uuid.UUID, expires_at: object
) -> TokenPair:
    refresh, refresh_hash = tokens.new_refresh_token()
    row = RefreshToken(
        user_id=user.id, family_id=family_id, token_hash=refresh_hash, expires_at=expires_at
    )
    session.add(row)
    session.flush()
    access, expires_in = tokens.issue_access_token(settings, user.id, family_id)
    remaining = int((row.expires_at - utcnow()).total_seconds())
    return TokenPair(user, access, expires_in, refresh, remaining)


def _start_family(session: Session, settings: Settings, user: User) -> TokenPair:
    expires_at = utcnow() + timedelta(hours=settings.auth.refresh_token_hours)
    return _issue(session, settings, user, uuid.uuid4(), expires_at)


@dataclass
class RefreshOutcome:
    tokens: TokenPair | None = None
    reused: bool = False

    def raise_for_failure(self) -> TokenPair:
        if self.tokens is None:
            raise RefreshInvalid()
        return self.tokens


def refresh(session: Session, settings: Settings, refresh_token: str) -> RefreshOutcome:
    """Rotate a refresh token. A token used twice means theft: its whole family is revoked."""
    row = session.scalar(
        select(RefreshToken).where(
            RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token)
        )
    )
    if row is None or row.revoked_at is not None:
        return RefreshOutcome()
    user = session.get(User, row.user_id)
    if user is None or not user.active:
        return RefreshOutcome()
    now = utcnow()
    if row.used_at is not None:
        revoke_family(session, row.family_id)
        deny_after_commit(session, {row.family_id})  # the thief's access token too
        audit.record(
            session, "auth.refresh_reuse", user, outcome=Outcome.serious_failure,
            detail={"family": str(row.family_id)},
        )  # fmt: skip
        return RefreshOutcome(reused=True)
    idle_limit = row.created_at + timedelta(minutes=settings.auth.refresh_idle_minutes)
    if now >= row.expires_at or now >= idle_limit:
        return RefreshOutcome()
    row.used_at = now
    return RefreshOutcome(tokens=_issue(session, settings, user, row.family_id, row.expires_at))


def revoke_family(session: Session, family_id: uuid.UUID, user_id: uuid.UUID | None = None) -> None:
    query = update(RefreshToken).where(
        RefreshToken.family_id == family_id, RefreshToken.revoked_at.is_(None)
    )
    if user_id is not None:
        query = query.where(RefreshToken.user_id == user_id)
    session.execute(query.values(revoked_at=utcnow()))


def revoke_all(session: Session, user_id: uuid.UUID) -> None:
    """End every session of a user: refresh families revoked, and their access tokens
    denied in the store once this commits."""
    live = select(RefreshToken.family_id).where(
        RefreshToken.user_id == user_id, RefreshToken.revoked_at.is_(None)
    )
    families = set(session.scalars(live.distinct()))
    if not families:
        return
    session.execute(
        update(RefreshToken)
        .where(RefreshToken.family_id.in_(families), RefreshToken.revoked_at.is_(None))
        .values(revoked_at=utcnow())
    )
    deny_after_commit(session, families)


def deny_after_commit(session: Session, families: set[uuid.UUID]) -> None:
    """Deny the access tokens of revoked sessions at once, not when they expire. Without
    Redis the database's revocation already refuses them (auth/deps.py)."""
    seconds = get_settings().auth.access_token_minutes * 60 + 5

    def deny() -> None:
        try:
            store = get_store()
            for family in families:
                store.set(f"revoked:{family}", "1", seconds)
        except StoreUnavailable:
            logger.error("sessions revoked in the database only (redis unavailable)")

    after_commit(session, deny)


def logout(
    session: Session,
    settings: Settings,
    store: KeyValueStore,
    user: User,
    claims: tokens.AccessClaims,
    refresh_token: str | None,
) -> None:
    """End this session: its refresh family is revoked (found from the access token's
    session id, so the refresh token need not be presented) and every access token of the
    session is denied until it expires. Redis unreachable: StoreUnavailable, nothing done."""
    deny_s = settings.auth.access_token_minutes * 60 + 5
    store.set(f"revoked:{claims.session_id}", "1", deny_s)  # first: it may fail (503)
    families = {claims.session_id}
    if refresh_token:
        presented = session.scalar(
            select(RefreshToken.family_id).where(
                RefreshToken.token_hash == tokens.hash_refresh_token(refresh_token),
                RefreshToken.user_id == user.id,
            )
        )
        if presented is not None and presented != claims.session_id:
            store.set(f"revoked:{presented}", "1", deny_s)
            families.add(presented)
    for family_id in families:
        revoke_family(session, family_id, user_id=user.id)
    audit.record(session, "auth.logout", user)


def is_revoked(store: KeyValueStore, claims: tokens.AccessClaims) -> bool:
    """Whether the token's session was logged out. Raises StoreUnavailable without Redis."""
    return store.get(f"revoked:{claims.session_id}") is not None


def session_revoked(session: Session, session_id: uuid.UUID) -> bool:
    """The database's answer (used while Redis is unreachable): a revoked family, or one
    that was never issued, is revoked."""
    row = session.execute(
        select(RefreshToken.revoked_at).where(RefreshToken.family_id == session_id).limit(1)
    ).first()
    return row is None or row.revoked_at is not None


def set_password(session: Session, settings: Settings, user: User, new_password: str) -> None:
    """Replace a password after checking the policy; every session of the user ends, its
    access tokens at once."""
    problems = passwords.policy_problems(
        new_password, user.username, settings.auth.password_min_length
    )
    if problems:
        raise PasswordRejected(details={"problems": problems})
    user.password_hash = passwords.hash_password(new_password)
    user.password_changed_at = utcnow()
    revoke_all(session, user.id)


def change_password(
    session: Session, settings: Settings, user: User, current: str, new_password: str
) -> None:
    """Change one's own password; a wrong current password is audited and refused."""
    if not passwords.verify_password(user.password_hash, current):
        audit.record_now(
            "auth.password_change", user, outcome=Outcome.minor_failure,
            detail={"reason": "wrong current password"},
        )  # fmt: skip
        raise InvalidCredentials("The current password is wrong.")
    set_password(session, settings, user, new_password)
    user.must_change_password = False
    audit.record(session, "auth.password_change", user)
