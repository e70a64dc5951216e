from pathlib import Path
from typing import Any

from fastapi.testclient import TestClient


def test_healthz_answers_without_a_token(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_readyz_reports_each_check(client: TestClient) -> None:
    response = client.get("/readyz")
    assert response.status_code == 200
    assert response.json()["checks"] == {"database": "ok", "storage": "ok", "redis": "ok"}


def test_request_id_is_echoed_or_made(client: TestClient) -> None:
    assert (
        client.get("/healthz", headers={"X-Request-ID": "abc-123"}).headers["x-request-id"]
        == "abc-123"
    )
    made = client.get("/healthz", headers={"X-Request-ID": "bad id\n"}).headers["x-request-id"]
    assert len(made) == 16


def test_readyz_names_a_failing_redis(client: TestClient, settings_env: Any) -> None:
    settings_env(HOUNSFIELD_REDIS_URL="redis://127.0.0.1:1/0")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["error"]["details"] == {"redis": "redis unreachable"}
    assert "redis" in response.json()["error"]["message"]


def test_readyz_names_a_missing_data_dir(
    client: TestClient, settings_env: Any, tmp_path: Path
) -> None:
    settings_env(HOUNSFIELD_DATA_DIR=str(tmp_path / "gone"))
    response = client.get("/readyz")
    assert response.status_code == 503
    assert set(response.json()["error"]["details"]) == {"storage"}


def test_metrics_count_requests_by_route_template(client: TestClient, auth_headers: Any) -> None:
    headers = auth_headers("admin")
    client.get("/api/users/00000000-0000-0000-0000-000000000000", headers=headers)
    text = client.get("/metrics").text
    assert (
        'hounsfield_http_requests_total{method="GET",route="/api/users/{user_id}",status="404"}'
        in text
    )
    assert "hounsfield_http_request_duration_seconds_bucket" in text
    assert "00000000-0000" not in text


def test_errors_share_one_shape(client: TestClient) -> None:
    for response in (
        client.get("/api/no/such/path"),  # outside /api the web UI answers
        client.post("/api/auth/login", json={"username": ""}),
        client.get("/api/users"),
    ):
        error = response.json()["error"]
        assert set(error) == {"code", "message", "details"}
        assert error["code"] in {"not_found", "validation_error", "not_authenticated"}
