"""The HTTP edge (issue 14.16, 14.17, SECURITY A4, L2): response headers, what is public in
embedded and production mode, and per-user / per-address rate limits."""

from __future__ import annotations

import secrets
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hounsfield.monitoring import edge
from tests.conftest import redis_url

STRONG = secrets.token_urlsafe(48)


def test_api_responses_are_neither_sniffed_nor_cached(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("doctor")
    for path in ("/api/auth/me", "/dicom-web/studies", "/api/studies", "/api/nowhere"):
        response = client.get(path, headers=headers)
        assert response.headers["x-content-type-options"] == "nosniff", path
        assert response.headers["cache-control"] == "no-store", path
        assert "server" not in response.headers
    health = client.get("/healthz")
    assert health.headers["x-content-type-options"] == "nosniff"


def test_docs_and_metrics_are_public_in_embedded_mode(client: TestClient) -> None:
    for path in ("/docs", "/openapi.json", "/redoc", "/metrics"):
        assert client.get(path).status_code == 200, path


@pytest.fixture
def production(settings_env: Callable[..., None]) -> Callable[..., TestClient]:
    """A production-mode app (its lifespan is not run: these routes need no database)."""

    def make(**env: str) -> TestClient:
        settings_env(
            HOUNSFIELD_MODE="production",
            HOUNSFIELD_SECRET_KEY=STRONG,
            HOUNSFIELD_DEIDENTIFICATION_KEY=secrets.token_urlsafe(48),
            HOUNSFIELD_API_KEY_SECRET=secrets.token_urlsafe(48),
            HOUNSFIELD_AUTH__COOKIE_SECURE="true",
            HOUNSFIELD_DATABASE_URL="postgresql+psycopg://postgres@127.0.0.1:5432/hf_unused",
            **env,
        )
        from hounsfield.app import create_app

        return TestClient(create_app())

    return make


def test_production_serves_no_docs_and_metrics_only_with_their_token(
    production: Callable[..., TestClient],
) -> None:
    token = secrets.token_urlsafe(32)
    client = production(HOUNSFIELD_HTTP__METRICS_TOKEN=token)
    for path in ("/docs", "/openapi.json", "/redoc"):
        assert client.get(path).status_code in (401, 404), path
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 404
    good = client.get("/metrics", headers={"Authorization": f"Bearer {token}"})
    assert good.status_code == 200
    assert "hounsfield_http_requests_total" in good.text


def test_production_without_a_metrics_token_serves_no_metrics(
    production: Callable[..., TestClient],
) -> None:
    assert production().get("/metrics").status_code == 404


@pytest.fixture
def frozen_clock(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The rate limiter's clock, at 10 s into a minute; tests move it by hand."""
    now = [1_800_000_010.0]
    monkeypatch.setattr(edge, "clock", lambda: now[0])
    return now


def test_a_user_over_the_rate_limit_gets_429_with_retry_after(
    settings_env: Callable[..., None],
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    frozen_clock: list[float],
) -> None:
    alice, bob = auth_headers("doctor"), auth_headers("doctor")
    settings_env(HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE="5")
    for _ in range(5):
        assert client.get("/dicom-web/studies", headers=alice).status_code in (200, 204)
    refused = client.get("/api/auth/me", headers=alice)
    assert refused.status_code == 429
    assert refused.headers["retry-after"] == "50"
    assert refused.json()["error"]["code"] == "rate_limited"
    assert "50" in refused.json()["error"]["message"]
    english = client.get("/api/auth/me", headers={**alice, "Accept-Language": "en-US"})
    assert english.json()["error"]["message"].startswith("Too many requests")
    assert client.get("/api/auth/me", headers=bob).status_code == 200  # per user
    assert client.get("/healthz").status_code == 200  # health is never limited
    frozen_clock[0] += 50  # the next window
    assert client.get("/api/auth/me", headers=alice).status_code == 200


def test_requests_without_a_valid_token_are_limited_per_address(
    settings_env: Callable[..., None], client: TestClient, frozen_clock: list[float]
) -> None:
    settings_env(HOUNSFIELD_HTTP__ANONYMOUS_RATE_LIMIT_PER_MINUTE="3")
    forged = {"Authorization": "Bearer " + "x" * 40}
    statuses = [client.get("/api/auth/me", headers=forged).status_code for _ in range(4)]
    assert statuses == [401, 401, 401, 429]


def test_the_limit_is_shared_through_redis_between_processes(
    settings_env: Callable[..., None],
    auth_headers: Callable[..., dict[str, str]],
    frozen_clock: list[float],
) -> None:
    """Two app instances (two API processes) spend one user's budget together (a fresh
    user each run, so no count is left over from an earlier run)."""
    headers = auth_headers("doctor")
    settings_env(HOUNSFIELD_REDIS_URL=redis_url(15),
                 HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE="4")  # fmt: skip
    from hounsfield.app import create_app

    first, second = TestClient(create_app()), TestClient(create_app())
    statuses: list[Any] = []
    for k in range(6):
        statuses.append((first if k % 2 else second).get("/api/auth/me", headers=headers))
    codes = [r.status_code for r in statuses]
    assert codes[:4] == [200, 200, 200, 200], codes
    assert codes[4:] == [429, 429]


def test_an_unreachable_store_does_not_stop_image_reads(
    settings_env: Callable[..., None],
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
) -> None:
    """Rate limiting fails open when Redis is down (SECURITY D5: reads keep working)."""
    from tests.s3_server import free_port

    headers = auth_headers("doctor")
    settings_env(HOUNSFIELD_REDIS_URL=f"redis://127.0.0.1:{free_port()}/0",
                 HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE="1")  # fmt: skip
    for _ in range(3):
        assert client.get("/dicom-web/studies", headers=headers).status_code in (200, 204)
