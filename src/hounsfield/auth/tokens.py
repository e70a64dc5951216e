"""Access tokens (short-lived JWT) and refresh tokens (opaque, stored hashed)."""

from __future__ import annotations

import hashlib
import secrets
import uuid
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import jwt

from hounsfield.auth.keys import token_key
from hounsfield.config import Settings
from hounsfield.db import utcnow

ALGORITHM = "HS256"


@dataclass(frozen=True)
class AccessClaims:
    user_id: uuid.UUID
    jti: str
    expires_at: int
    session_id: uuid.UUID  # the refresh-token family: logout revokes by it


def issue_access_token(
    settings: Settings, user_id: uuid.UUID, session_id: uuid.UUID
) -> tuple[str, int]:
    """A signed JWT of one session (refresh-token family) and its lifetime in seconds."""
    now = utcnow()
    lifetime = timedelta(minutes=settings.auth.access_token_minutes)
    claims: dict[str, Any] = {
        "sub": str(user_id),
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "nbf": now,
        "exp": now + lifetime,
        "jti": secrets.token_urlsafe(16),
        "sid": str(session_id),
        "typ": "access",
    }
    token = jwt.encode(claims, token_key(settings), algorithm=ALGORITHM)
    return token, int(lifetime.total_seconds())


def decode_access_token(settings: Settings, token: str) -> AccessClaims:
    """Check signature, algorithm, expiry, issuer and audience (jwt.PyJWTError if not)."""
    claims = jwt.decode(
        token,
        token_key(settings),
        algorithms=[ALGORITHM],
        audience=settings.auth.audience,
        issuer=settings.auth.issuer,
        options={"require": ["exp", "iat", "iss", "aud", "sub", "jti", "sid"]},
    )
    if claims.get("typ") != "access":
        raise jwt.InvalidTokenError("not an access token")
    try:
        user_id, session_id = uuid.UUID(claims["sub"]), uuid.UUID(claims["sid"])
    except (ValueError, TypeError, AttributeError) as exc:
        raise jwt.InvalidTokenError("bad subject or session") from exc
    return AccessClaims(
        user_id=user_id,
        jti=str(claims["jti"]),
        expires_at=int(claims["exp"]),
        session_id=session_id,
    )


def new_refresh_token() -> tuple[str, str]:
    """A random refresh token and the hash under which it is stored."""
    token = secrets.token_urlsafe(32)
    return token, hash_refresh_token(token)


def hash_refresh_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
