"""API keys of service accounts (issue 12.10): created by an admin for a role, shown once,
stored as a keyed hash, expiring, revocable, every use audited; accepted on /api and
/dicom-web, by a real DICOMweb client."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import requests
from dicomweb_client.api import DICOMwebClient
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer
from hounsfield.auth import api_keys
from hounsfield.auth.models import ApiKey
from hounsfield.db import transaction, utcnow
from tests.conftest import TEST_PASSWORD
from tests.dicom_factory import make_dataset
from tests.dicomweb.test_dicomweb_client import live_server  # noqa: F401  (fixture)


def _bearer(key: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {key}"}


def _create(client: TestClient, admin: dict[str, str], **body: Any) -> Any:
    response = client.post(
        "/api/api-keys", json={"name": "ai-engine", "role": "technician", **body}, headers=admin
    )
    assert response.status_code == 201, response.text
    return response.json()


def _expire(prefix: str) -> None:
    with transaction() as session:
        session.execute(
            update(ApiKey)
            .where(ApiKey.prefix == prefix)
            .values(expires_at=utcnow() - timedelta(seconds=1))
        )
    api_keys.forget()


def test_an_admin_creates_a_key_that_is_shown_once_and_stored_hashed(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    admin = auth_headers("admin")
    created = _create(client, admin)
    key = created["key"]
    assert key.startswith(f"hfk_{created['prefix']}_")
    assert created["role"] == "technician"
    assert created["username"] == "svc.ai-engine"
    listed = client.get("/api/api-keys", headers=admin).json()
    assert [k["prefix"] for k in listed] == [created["prefix"]]
    assert key not in json.dumps(listed)
    with transaction() as session:
        row = session.scalars(select(ApiKey)).one()
        events = session.scalars(select(AuditEvent)).all()
    secret_part = key.split("_", 2)[2]
    assert len(secret_part) >= 43
    assert row.key_hash != key
    assert secret_part not in row.key_hash
    assert all(secret_part not in (e.detail or "") for e in events)
    assert client.post("/api/api-keys", json={"name": "x2", "role": "doctor"},
                       headers=auth_headers("doctor")).status_code == 403  # fmt: skip
    duplicate = client.post("/api/api-keys", json={"name": "ai-engine", "role": "nurse"},
                            headers=admin)  # fmt: skip
    assert duplicate.status_code == 409


def test_a_key_acts_with_its_role_and_every_use_is_audited(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    created = _create(client, auth_headers("admin"))
    headers = _bearer(created["key"])
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["roles"] == ["technician"]
    assert client.get("/dicom-web/studies", headers=headers).status_code == 200
    assert client.get("/api/users", headers=headers).status_code == 403  # not its role's
    assert client.post("/api/auth/logout", headers=headers).status_code == 400
    flush_buffer()
    with transaction() as session:
        uses = session.scalars(select(AuditEvent).where(AuditEvent.action == "auth.api_key")).all()
        row = session.scalars(select(ApiKey)).one()
    assert len(uses) == 4
    assert {u.actor_username for u in uses} == {"svc.ai-engine"}
    assert {json.loads(u.detail)["prefix"] for u in uses} == {created["prefix"]}
    assert row.last_used_at is not None


def test_the_service_account_cannot_log_in_with_a_password(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    _create(client, auth_headers("admin"))
    for password in ("!", "x" * 12):
        body = {"username": "svc.ai-engine", "password": password}
        assert client.post("/api/auth/login", json=body).status_code == 401


def test_wrong_revoked_and_expired_keys_are_401(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    admin = auth_headers("admin")
    first = _create(client, admin)
    second = _create(client, admin, name="gateway")
    forged = first["key"][:-4] + ("AAAA" if not first["key"].endswith("AAAA") else "BBBB")
    for key in (forged, "hfk_", "hfk_000000000000_x", f"hfk_{first['prefix']}"):
        assert client.get("/api/auth/me", headers=_bearer(key)).status_code == 401, key
    assert client.get("/api/auth/me", headers=_bearer(first["key"])).status_code == 200
    assert client.delete(f"/api/api-keys/{first['id']}", headers=admin).status_code == 204
    revoked = client.get("/api/auth/me", headers=_bearer(first["key"]))
    assert revoked.status_code == 401
    assert revoked.json()["error"]["code"] == "api_key_invalid"
    _expire(second["prefix"])
    expired = client.get("/dicom-web/studies", headers=_bearer(second["key"]))
    assert expired.status_code == 401
    assert "expired" in expired.json()["error"]["message"]
    listed = {k["name"]: k for k in client.get("/api/api-keys", headers=admin).json()}
    assert listed["ai-engine"]["revoked_at"] is not None


@pytest.mark.slow
# dicomweb-client sending a key to a real server; the keys' SQL (lookup, use, revocation,
# expiry) runs on every database in the tests above.
@pytest.mark.once
def test_dicomweb_client_with_an_api_key(live_server: str, make_user: Any) -> None:  # noqa: F811
    admin = make_user("admin")
    token = requests.post(
        f"{live_server}/api/auth/login",
        json={"username": admin.username, "password": TEST_PASSWORD}, timeout=10,
    ).json()["access_token"]  # fmt: skip
    admin_headers = _bearer(token)
    created = requests.post(
        f"{live_server}/api/api-keys", json={"name": "modality-gw", "role": "technician"},
        headers=admin_headers, timeout=10,
    ).json()  # fmt: skip
    client = DICOMwebClient(url=f"{live_server}/dicom-web", headers=_bearer(created["key"]))
    ds = make_dataset()
    result = client.store_instances([ds])
    assert "FailedSOPSequence" not in result
    studies = client.search_for_studies(search_filters={"StudyInstanceUID": ds.StudyInstanceUID})
    assert len(studies) == 1
    [retrieved] = client.retrieve_study(ds.StudyInstanceUID)
    assert retrieved.SOPInstanceUID == ds.SOPInstanceUID

    gone = requests.delete(
        f"{live_server}/api/api-keys/{created['id']}", headers=admin_headers, timeout=10
    )
    assert gone.status_code == 204
    with pytest.raises(requests.HTTPError) as refused:
        client.search_for_studies()
    assert refused.value.response.status_code == 401
