"""The device registry API: CRUD, validation, permissions, audit, C-ECHO to a device."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from tests.dimse.conftest import StoreSCP, free_port

CT = {"ae_title": "CT_SCANNER", "host": "127.0.0.1", "port": 104, "modality": "CT",
      "department": "Radiology", "operations": ["store", "find"]}  # fmt: skip


def _actions() -> list[str]:
    with transaction() as session:
        return list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))


def test_crud_round_trip_is_audited(client: TestClient, auth_headers: Callable[..., Any]) -> None:
    admin = auth_headers("admin")
    created = client.post("/api/devices", json=CT, headers=admin)
    assert created.status_code == 201, created.text
    device = created.json()
    assert device["ae_title"] == "CT_SCANNER"
    assert device["operations"] == ["store", "find"]
    assert device["enabled"] is True
    assert device["tls"] is False

    listed = client.get("/api/devices", headers=admin).json()
    assert listed["total"] == 1
    assert listed["items"][0]["id"] == device["id"]

    patched = client.patch(
        f"/api/devices/{device['id']}",
        json={"port": 11113, "operations": ["move", "store"], "enabled": False},
        headers=admin,
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["port"] == 11113
    assert patched.json()["operations"] == ["store", "move"]
    assert patched.json()["enabled"] is False
    assert client.get(f"/api/devices/{device['id']}", headers=admin).json()["port"] == 11113

    assert client.delete(f"/api/devices/{device['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/devices/{device['id']}", headers=admin).status_code == 404
    actions = _actions()
    for action in ("device.create", "device.update", "device.delete"):
        assert actions.count(action) == 1


def test_ae_title_is_unique_and_valid(client: TestClient, auth_headers: Callable[..., Any]) -> None:
    admin = auth_headers("admin")
    assert client.post("/api/devices", json=CT, headers=admin).status_code == 201
    again = client.post("/api/devices", json={**CT, "ae_title": " CT_SCANNER "}, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "duplicate_ae_title"
    for bad in ["", "    ", "A" * 17, "BACK\\SLASH", "TAB\tX"]:
        response = client.post("/api/devices", json={**CT, "ae_title": bad}, headers=admin)
        assert response.status_code == 422, bad
    assert client.post("/api/devices", json={**CT, "ae_title": "X", "port": 0},
                       headers=admin).status_code == 422  # fmt: skip
    extra = client.post("/api/devices", json={**CT, "ae_title": "Y", "id": "x"}, headers=admin)
    assert extra.status_code == 422


def test_link_local_and_metadata_hosts_are_refused(
    client: TestClient, auth_headers: Callable[..., Any]
) -> None:
    """SECURITY.md I11: validation only, no connection is made."""
    admin = auth_headers("admin")
    refused = [
        "169.254.169.254",
        "169.254.1.1",
        "fe80::1",
        "[fe80::1]",
        "::ffff:169.254.169.254",
        "0.0.0.0",
        "metadata.google.internal",
        "bad host",
        "http://169.254.169.254",
        # SECURITY #14.10: what the OS resolves to the metadata address, however spelled
        "169.254.169.254.",
        "2852039166",
        "0xa9fea9fe",
        "169.254.43518",
        "0251.0376.0251.0376",
        "0",
        "fd00:ec2::254",
        "100.100.100.200",
        "64:ff9b::a9fe:a9fe",
    ]
    for host in refused:
        response = client.post("/api/devices", json={**CT, "host": host}, headers=admin)
        assert response.status_code == 422, host
    ok = client.post("/api/devices", json={**CT, "host": "pacs.example.org"}, headers=admin)
    assert ok.status_code == 201
    device_id = ok.json()["id"]
    patched = client.patch(f"/api/devices/{device_id}", json={"host": "169.254.169.254"},
                           headers=admin)  # fmt: skip
    assert patched.status_code == 422
    assert _actions().count("device.create") == 1


def test_hosts_are_checked_again_at_connect_time(
    client: TestClient, auth_headers: Callable[..., Any]
) -> None:
    """SECURITY #14.10: a row stored before validation (or a name whose DNS answer changed)
    is refused when we connect: no association is attempted."""
    from hounsfield.dimse.models import Device

    admin = auth_headers("admin")
    device_id = client.post("/api/devices", json=CT, headers=admin).json()["id"]
    with transaction(write=True) as session:
        row = session.get(Device, uuid.UUID(device_id))
        assert row is not None
        row.host = "0xa9fea9fe"  # 169.254.169.254 to inet_aton
    result = client.post(f"/api/devices/{device_id}/echo", headers=admin).json()
    assert result["success"] is False
    assert "refused" in result["error"]
    assert "metadata" in result["error"]
    query = client.post(f"/api/devices/{device_id}/query", json={"level": "STUDY"},
                        headers=admin)  # fmt: skip
    assert query.status_code == 503
    localhost = client.post("/api/devices", json={**CT, "ae_title": "LOCAL", "host": "localhost"},
                            headers=admin)  # fmt: skip
    assert localhost.status_code == 201  # a name is judged by what it resolves to


def test_permissions(client: TestClient, auth_headers: Callable[..., Any]) -> None:
    admin, doctor, nurse = auth_headers("admin"), auth_headers("doctor"), auth_headers("nurse")
    device_id = client.post("/api/devices", json=CT, headers=admin).json()["id"]
    assert client.get("/api/devices", headers=doctor).status_code == 200  # device:read
    assert client.get("/api/devices", headers=nurse).status_code == 403
    assert (
        client.post("/api/devices", json={**CT, "ae_title": "Z"}, headers=doctor).status_code == 403
    )
    assert (
        client.patch(f"/api/devices/{device_id}", json={"port": 5}, headers=doctor).status_code
        == 403
    )
    assert client.delete(f"/api/devices/{device_id}", headers=doctor).status_code == 403
    assert client.get("/api/devices").status_code == 401
    assert client.get(f"/api/devices/{device_id}", headers=admin).json()["port"] == 104


def test_echo_reaches_a_real_storescp(
    client: TestClient, auth_headers: Callable[..., Any], storescp: StoreSCP
) -> None:
    admin = auth_headers("admin")
    body = {**CT, "ae_title": storescp.ae_title, "port": storescp.port}
    device_id = client.post("/api/devices", json=body, headers=admin).json()["id"]
    result = client.post(f"/api/devices/{device_id}/echo", headers=admin).json()
    assert result["success"] is True
    assert result["status"] == 0
    assert result["round_trip_ms"] > 0


def test_echo_to_nobody_reports_failure(
    client: TestClient, auth_headers: Callable[..., Any]
) -> None:
    admin = auth_headers("admin")
    body = {**CT, "port": free_port()}  # nothing listens there
    device_id = client.post("/api/devices", json=body, headers=admin).json()["id"]
    result = client.post(f"/api/devices/{device_id}/echo", headers=admin).json()
    assert result["success"] is False
    assert result["status"] is None
