"""Login, lockout, throttling and password hashing (SECURITY.md A2, A9)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.auth import passwords
from hounsfield.db import transaction
from tests.conftest import TEST_PASSWORD, redis_url

REDIS_URL = redis_url(15)


@pytest.fixture(params=["memory", "redis"])
def store_kind(request: pytest.FixtureRequest, settings_env: Callable[..., None]) -> Iterator[str]:
    """Run a test with the in-process store, then with a real Redis."""
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()
        settings_env(HOUNSFIELD_REDIS_URL=REDIS_URL)
    yield request.param
    if request.param == "redis":
        redis.Redis.from_url(REDIS_URL).flushdb()


def _login(client: TestClient, username: str, password: str, **kwargs: Any) -> Any:
    return client.post(
        "/api/auth/login", json={"username": username, "password": password}, **kwargs
    )


def _audit_rows(action: str) -> list[AuditEvent]:
    with transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_login_returns_tokens_and_an_httponly_cookie(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    response = _login(client, user.username, TEST_PASSWORD)
    assert response.status_code == 200
    body = response.json()
    assert body["token_type"] == "bearer"
    assert 0 < body["expires_in"] <= 15 * 60
    assert body["refresh_token"]
    cookie = response.headers["set-cookie"]
    assert "hf_refresh=" in cookie
    assert "HttpOnly" in cookie
    assert "SameSite=strict" in cookie
    assert "Path=/api/auth" in cookie
    me = client.get("/api/auth/me", headers={"Authorization": f"Bearer {body['access_token']}"})
    assert me.json()["username"] == user.username
    assert "report:approve" in me.json()["permissions"]


def test_wrong_password_is_401_and_audited(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    response = _login(client, user.username, "not-the-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    rows = _audit_rows("auth.login")
    assert len(rows) == 1
    assert rows[0].outcome == 4
    assert rows[0].actor_username == user.username
    assert rows[0].event_code == "110114"
    assert rows[0].client_ip == "testclient"


def test_unknown_user_costs_a_verification(
    client: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    real = passwords.dummy_verify
    monkeypatch.setattr(passwords, "dummy_verify", lambda p: (calls.append(p), real(p))[1])
    response = _login(client, "nobody-here", "whatever-password")
    assert response.status_code == 401
    assert response.json()["error"]["code"] == "invalid_credentials"
    assert calls == ["whatever-password"]


def test_sixth_attempt_after_five_failures_is_locked(
    client: TestClient, make_user: Any, store_kind: str
) -> None:
    user = make_user("doctor")
    for _ in range(5):
        assert _login(client, user.username, "wrong-password").status_code == 401
    locked = _login(client, user.username, TEST_PASSWORD)
    assert locked.status_code == 423
    assert locked.json()["error"]["code"] == "account_locked"
    assert 0 < int(locked.headers["Retry-After"]) <= 15 * 60
    reasons = [r.detail for r in _audit_rows("auth.login")]
    assert sum('"locked"' in d for d in reasons) == 1


def test_lock_expires(client: TestClient, make_user: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    from hounsfield import kv

    user = make_user("doctor")
    for _ in range(5):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, TEST_PASSWORD).status_code == 423
    later = kv.time.monotonic() + 15 * 60 + 1
    monkeypatch.setattr(kv.time, "monotonic", lambda: later)
    assert _login(client, user.username, TEST_PASSWORD).status_code == 200


def test_success_resets_the_failure_count(client: TestClient, make_user: Any) -> None:
    user = make_user("doctor")
    for _ in range(4):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, TEST_PASSWORD).status_code == 200
    for _ in range(4):
        _login(client, user.username, "wrong-password")
    assert _login(client, user.username, TEST_PASSWORD).status_code == 200


def test_one_address_is_throttled_after_twenty_failures(
    client: TestClient, make_user: Any, store_kind: str
) -> None:
    for i in range(20):
        assert _login(client, f"guess{i}", "wrong-password").status_code == 401
    throttled = _login(client, "guess-again", "wrong-password")
    assert throttled.status_code == 429
    assert int(throttled.headers["Retry-After"]) > 0
    user = make_user("doctor")  # a real user from the same address is throttled too
    assert _login(client, user.username, TEST_PASSWORD).status_code == 429


def test_passwords_are_argon2id_with_owasp_parameters(make_user: Any) -> None:
    user = make_user("nurse")
    assert user.password_hash.startswith("$argon2id$")
    params = dict(p.split("=") for p in user.password_hash.split("$")[3].split(","))
    assert int(params["m"]) >= 19 * 1024
    assert int(params["t"]) >= 2


def test_disabled_account_cannot_log_in(
    client: TestClient, make_user: Any, auth_headers: Any
) -> None:
    user = make_user("doctor")
    admin = auth_headers("admin")
    patched = client.patch(f"/api/users/{user.id}", json={"active": False}, headers=admin)
    assert patched.status_code == 200
    assert _login(client, user.username, TEST_PASSWORD).status_code == 401
