"""Redis unreachable: security state fails closed (issue 14.3).

Logins are refused with 503 (no password is checked without the lockout counters);
token revocation falls back to the database, so a logged-out token stays refused while
other sessions keep reading.
"""

from __future__ import annotations

import socket
import subprocess
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from tests.conftest import TEST_PASSWORD


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _login(client: TestClient, username: str, password: str = TEST_PASSWORD, **kw: Any) -> Any:
    return client.post("/api/auth/login", json={"username": username, "password": password}, **kw)


@pytest.fixture
def closed_port_redis(settings_env: Callable[..., None]) -> str:
    url = f"redis://127.0.0.1:{_free_port()}/0"  # nothing listens there
    settings_env(HOUNSFIELD_REDIS_URL=url)
    return url


@pytest.fixture
def redis_server(settings_env: Callable[..., None]) -> Iterator[subprocess.Popen[str]]:
    """A real redis-server of our own on a spare port; the test kills it."""
    port = _free_port()
    process = subprocess.Popen(
        ["redis-server", "--port", str(port), "--bind", "127.0.0.1", "--save", "",
         "--appendonly", "no", "--loglevel", "notice"],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert process.stdout is not None
    for line in process.stdout:  # wait for the event, not for a time
        if "Ready to accept connections" in line:
            break
    else:
        raise RuntimeError("redis-server exited")
    settings_env(HOUNSFIELD_REDIS_URL=f"redis://127.0.0.1:{port}/0")
    yield process
    process.kill()
    process.wait(timeout=30)


def test_login_is_refused_with_503_when_redis_is_unreachable(
    client: TestClient, make_user: Any, closed_port_redis: str
) -> None:
    user = make_user("doctor")
    response = _login(client, user.username)
    assert response.status_code == 503
    body = response.json()["error"]
    assert body["code"] == "security_state_unavailable"
    assert "请稍后再试" in body["message"]  # zh-CN by default
    assert "Retry-After" in response.headers
    english = _login(client, user.username, headers={"Accept-Language": "en-US,en;q=0.9"})
    assert english.status_code == 503
    assert "try again later" in english.json()["error"]["message"]
    with transaction() as session:
        rows = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.login")).all()
    assert len(rows) == 2
    assert all(r.outcome != 0 and "security_state_unavailable" in r.detail for r in rows)


def test_guessing_passwords_without_redis_never_gets_a_verdict(
    client: TestClient, make_user: Any, closed_port_redis: str
) -> None:
    """The attack: 40 wrong passwords gave 401 every time (no lockout). Now: never 401."""
    user = make_user("doctor")
    statuses = {_login(client, user.username, f"wrong-{i}").status_code for i in range(40)}
    assert statuses == {503}


def test_revocation_holds_and_reads_go_on_after_redis_dies(
    client: TestClient, make_user: Any, redis_server: subprocess.Popen[str]
) -> None:
    user = make_user("doctor")
    tokens = [_login(client, user.username).json()["access_token"] for _ in range(2)]
    gone, kept = ({"Authorization": f"Bearer {t}"} for t in tokens)
    client.cookies.clear()
    assert client.post("/api/auth/logout", headers=gone).status_code == 204
    assert client.get("/api/auth/me", headers=gone).status_code == 401

    redis_server.kill()
    redis_server.wait(timeout=30)

    assert client.get("/api/auth/me", headers=gone).status_code == 401  # database fallback
    assert client.get("/api/auth/me", headers=kept).status_code == 200  # reads go on
    assert _login(client, user.username).status_code == 503
    logout = client.post("/api/auth/logout", headers=kept)
    assert logout.status_code == 503  # not half done: the session stays as it was
    assert client.get("/api/auth/me", headers=kept).status_code == 200
