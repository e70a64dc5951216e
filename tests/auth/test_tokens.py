"""Access and refresh tokens (SECURITY.md A3, A8)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import jwt
import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.auth import keys, service
from hounsfield.config import get_settings
from hounsfield.db import transaction
from tests.conftest import TEST_PASSWORD, redis_url

OLD_DEFAULT = "dev-only-insecure-secret-change-me"  # was published in config.py (issue 14.1)


def _tokens(client: TestClient, username: str) -> dict[str, Any]:
    response = client.post(
        "/api/auth/login", json={"username": username, "password": TEST_PASSWORD}
    )
    assert response.status_code == 200
    return dict(response.json())


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def test_refresh_rotates_the_token(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    first = _tokens(client, user.username)
    rotated = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert rotated.status_code == 200
    second = rotated.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert client.get("/api/auth/me", headers=_bearer(second["access_token"])).status_code == 200


def test_refresh_works_from_the_cookie_alone(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    _tokens(client, user.username)  # the test client keeps the cookie
    assert client.post("/api/auth/refresh").status_code == 200
    assert client.post("/api/auth/refresh").status_code == 200  # rotated cookie kept too


def test_reusing_a_refresh_token_revokes_the_family(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    client.cookies.clear()
    first = _tokens(client, user.username)
    client.cookies.clear()
    second = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    client.cookies.clear()
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    assert reuse.json()["error"]["code"] == "session_expired"
    client.cookies.clear()
    after = client.post("/api/auth/refresh", json={"refresh_token": second.json()["refresh_token"]})
    assert after.status_code == 401, "the thief's rotated token must die with the family"
    with transaction() as session:
        alerts = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "auth.refresh_reuse")
        ).all()
    assert len(alerts) == 1
    assert alerts[0].event_code == "110113"


@pytest.mark.parametrize("store", ["memory", "redis"])
def test_logout_revokes_access_and_refresh(
    client: TestClient, make_user: Any, settings_env: Callable[..., None], store: str
) -> None:
    if store == "redis":
        redis.Redis.from_url(redis_url(15)).flushdb()
        settings_env(HOUNSFIELD_REDIS_URL=redis_url(15))
    user = make_user("doctor")
    pair = _tokens(client, user.username)
    headers = _bearer(pair["access_token"])
    out = client.post("/api/auth/logout", headers=headers)
    assert out.status_code == 204
    assert client.get("/api/auth/me", headers=headers).status_code == 401
    client.cookies.clear()
    refreshed = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert refreshed.status_code == 401


def test_logout_without_the_refresh_token_still_ends_the_session(
    client: TestClient, make_user: Any
) -> None:
    """Issue 14.14: the access token's session id names the family to revoke."""
    user = make_user("doctor")
    pair = _tokens(client, user.username)
    client.cookies.clear()
    rotated = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert rotated.status_code == 200
    other = _tokens(client, user.username)  # another session of the same user stays
    client.cookies.clear()
    out = client.post("/api/auth/logout", headers=_bearer(rotated.json()["access_token"]))
    assert out.status_code == 204
    for access in (pair["access_token"], rotated.json()["access_token"]):
        assert client.get("/api/auth/me", headers=_bearer(access)).status_code == 401
    client.cookies.clear()
    again = client.post(
        "/api/auth/refresh", json={"refresh_token": rotated.json()["refresh_token"]}
    )
    assert again.status_code == 401
    assert client.get("/api/auth/me", headers=_bearer(other["access_token"])).status_code == 200
    client.cookies.clear()
    kept = client.post("/api/auth/refresh", json={"refresh_token": other["refresh_token"]})
    assert kept.status_code == 200


def test_idle_refresh_token_expires(
    client: TestClient, make_user: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = make_user("doctor")
    pair = _tokens(client, user.username)
    idle = get_settings().auth.refresh_idle_minutes
    later = datetime.now(UTC) + timedelta(minutes=idle, seconds=1)
    monkeypatch.setattr(service, "utcnow", lambda: later)
    client.cookies.clear()
    response = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert response.status_code == 401


def _claims(**overrides: Any) -> dict[str, Any]:
    settings = get_settings()
    now = datetime.now(UTC)
    claims: dict[str, Any] = {
        "iss": settings.auth.issuer,
        "aud": settings.auth.audience,
        "iat": now,
        "nbf": now,
        "exp": now + timedelta(minutes=5),
        "jti": "forged",
        "sid": str(uuid.uuid4()),
        "typ": "access",
    }
    claims.update(overrides)
    return {k: v for k, v in claims.items() if v is not None}


def test_forged_tokens_are_refused(client: TestClient, make_user: Any) -> None:
    user = make_user("admin")
    secret = keys.token_key(get_settings())
    sub = str(user.id)
    forgeries = {
        "alg none": jwt.encode(_claims(sub=sub), key=None, algorithm="none"),
        "other key": jwt.encode(_claims(sub=sub), "x" * 40, algorithm="HS256"),
        "the old published default": jwt.encode(_claims(sub=sub), OLD_DEFAULT, "HS256"),
        "expired": jwt.encode(
            _claims(sub=sub, exp=datetime.now(UTC) - timedelta(seconds=5)), secret, "HS256"
        ),
        "wrong audience": jwt.encode(_claims(sub=sub, aud="other"), secret, "HS256"),
        "wrong issuer": jwt.encode(_claims(sub=sub, iss="other"), secret, "HS256"),
        "no expiry": jwt.encode(_claims(sub=sub, exp=None), secret, "HS256"),
        "HS512": jwt.encode(_claims(sub=sub), secret, "HS512"),
        "not an access token": jwt.encode(_claims(sub=sub, typ="refresh"), secret, "HS256"),
        "no session id": jwt.encode(_claims(sub=sub, sid=None), secret, "HS256"),
        "bad session id": jwt.encode(_claims(sub=sub, sid="x"), secret, "HS256"),
    }
    for name, token in forgeries.items():
        response = client.get("/api/users", headers=_bearer(token))
        assert response.status_code == 401, name
    valid = jwt.encode(_claims(sub=sub), secret, "HS256")
    assert client.get("/api/users", headers=_bearer(valid)).status_code == 200


def test_change_password(client: TestClient, make_user: Any) -> None:
    user = make_user("nurse")
    pair = _tokens(client, user.username)
    headers = _bearer(pair["access_token"])
    url = "/api/auth/password"
    wrong = client.post(
        url, json={"current_password": "nope", "new_password": "x"}, headers=headers
    )
    assert wrong.status_code == 401
    weak = client.post(
        url, json={"current_password": TEST_PASSWORD, "new_password": "short"}, headers=headers
    )
    assert weak.status_code == 422
    assert weak.json()["error"]["code"] == "password_rejected"
    has_name = client.post(
        url,
        json={"current_password": TEST_PASSWORD, "new_password": f"xx{user.username}xx"},
        headers=headers,
    )
    assert has_name.status_code == 422
    ok = client.post(
        url,
        json={"current_password": TEST_PASSWORD, "new_password": "A-much-better-pass-42"},
        headers=headers,
    )
    assert ok.status_code == 204
    client.cookies.clear()
    old = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
    assert old.status_code == 401
    login = client.post(
        "/api/auth/login", json={"username": user.username, "password": "A-much-better-pass-42"}
    )
    assert login.status_code == 200


def test_a_password_change_ends_every_session_at_once(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    mine, other = _tokens(client, user.username), _tokens(client, user.username)
    client.cookies.clear()
    change = {"current_password": TEST_PASSWORD, "new_password": "A-much-better-pass-42"}
    done = client.post("/api/auth/password", json=change, headers=_bearer(mine["access_token"]))
    assert done.status_code == 204
    for pair in (other, mine):  # not only when the access tokens expire
        assert client.get("/api/auth/me", headers=_bearer(pair["access_token"])).status_code == 401
        gone = client.post("/api/auth/refresh", json={"refresh_token": pair["refresh_token"]})
        assert gone.status_code == 401


def test_a_reused_refresh_token_kills_the_thiefs_access_token(
    client: TestClient, make_user: Any
) -> None:
    user = make_user("doctor")
    first = _tokens(client, user.username)
    client.cookies.clear()
    thief = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert thief.status_code == 200
    client.cookies.clear()
    reuse = client.post("/api/auth/refresh", json={"refresh_token": first["refresh_token"]})
    assert reuse.status_code == 401
    stolen = _bearer(thief.json()["access_token"])
    assert client.get("/api/auth/me", headers=stolen).status_code == 401
