"""Resumable uploads have a per-user quota on their count and declared bytes (issue 14.17:
300 uploads each declaring 16 GiB were created)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

TUS = {"Tus-Resumable": "1.0.0"}
GiB = 1 << 30


def _create(client: TestClient, headers: dict[str, str], length: int) -> tuple[int, str]:
    response = client.post(
        "/api/uploads/tus", headers={**headers, **TUS, "Upload-Length": str(length)}
    )
    return response.status_code, response.headers.get("location", "")


def test_unfinished_uploads_are_limited_per_user(
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    settings_env: Callable[..., None],
) -> None:
    alice, bob = auth_headers("technician"), auth_headers("technician")
    settings_env(HOUNSFIELD_INGEST__TUS_MAX_UPLOADS_PER_USER="3")
    created = [_create(client, alice, 1024) for _ in range(3)]
    assert [status for status, _ in created] == [201, 201, 201]
    refused = client.post("/api/uploads/tus", headers={**alice, **TUS, "Upload-Length": "1"})
    assert refused.status_code == 429
    assert refused.json()["error"]["code"] == "upload_quota_exceeded"
    assert _create(client, bob, 1024)[0] == 201  # per user
    assert client.delete(created[0][1], headers={**alice, **TUS}).status_code == 204
    assert _create(client, alice, 1024)[0] == 201  # a cancelled upload frees its slot


def test_declared_bytes_are_limited_per_user(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("technician")
    statuses = [_create(client, headers, 16 * GiB)[0] for _ in range(3)]
    assert statuses == [201, 201, 429]  # 32 GiB outstanding by default
