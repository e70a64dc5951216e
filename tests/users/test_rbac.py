"""Users, roles and the permission matrix (SECURITY.md A5, A7)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.users.permissions import BUILTIN_ROLES, Permission
from tests.conftest import TEST_PASSWORD, login

NEW_USER = {"username": "new.doctor", "password": "Radiology-Reads-2026", "roles": ["doctor"]}


def test_nurse_cannot_create_users_and_the_denial_is_audited(
    client: TestClient, auth_headers: Any
) -> None:
    response = client.post("/api/users", json=NEW_USER, headers=auth_headers("nurse"))
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "permission_denied"
    assert response.json()["error"]["details"] == {"permission": "user:manage"}
    audit_service.flush_buffer()  # refusals are journalled, then drained into the table
    with transaction() as session:
        denial = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "access.denied")
        ).one()
    assert denial.outcome != 0
    assert "user:manage" in denial.detail


def test_admin_creates_a_user_who_can_log_in(client: TestClient, auth_headers: Any) -> None:
    created = client.post("/api/users", json=NEW_USER, headers=auth_headers("admin"))
    assert created.status_code == 201
    assert created.json()["roles"] == ["doctor"]
    assert created.json()["demo"] is False
    headers = login(client, "new.doctor", NEW_USER["password"])
    assert "report:approve" in client.get("/api/auth/me", headers=headers).json()["permissions"]
    duplicate = client.post("/api/users", json=NEW_USER, headers=auth_headers("admin"))
    assert duplicate.status_code == 409


@pytest.mark.parametrize(
    ("password", "problem"),
    [("short1!", "at least"), ("xxnew.doctorxx-long", "username"), ("aaaaaaaaaaaa", "repeat")],
)
def test_password_policy(
    client: TestClient, auth_headers: Any, password: str, problem: str
) -> None:
    response = client.post(
        "/api/users", json={**NEW_USER, "password": password}, headers=auth_headers("admin")
    )
    assert response.status_code == 422
    assert any(problem in p for p in response.json()["error"]["details"]["problems"])


def test_roles_and_permissions_are_not_mass_assignable(
    client: TestClient, auth_headers: Any, make_user: Any
) -> None:
    admin = auth_headers("admin")
    extra = client.post("/api/users", json={**NEW_USER, "demo": True}, headers=admin)
    assert extra.status_code == 422
    assert extra.json()["error"]["code"] == "validation_error"
    nurse = make_user("nurse")
    sneaky = client.patch(
        f"/api/users/{nurse.id}", json={"permissions": ["system:admin"]}, headers=admin
    )
    assert sneaky.status_code == 422
    own = login(client, nurse.username)
    self_promote = client.patch(f"/api/users/{nurse.id}", json={"roles": ["admin"]}, headers=own)
    assert self_promote.status_code == 403


def test_custom_role_grants_exactly_its_permissions(
    client: TestClient, auth_headers: Any, make_user: Any
) -> None:
    admin = auth_headers("admin")
    role = client.post(
        "/api/roles",
        json={
            "name": "auditor",
            "description": "Reads the audit trail",
            "permissions": ["audit:read"],
        },
        headers=admin,
    )
    assert role.status_code == 201
    user = make_user("nurse")
    assigned = client.patch(f"/api/users/{user.id}", json={"roles": ["auditor"]}, headers=admin)
    assert assigned.json()["roles"] == ["auditor"]
    headers = login(client, user.username)
    assert client.get("/api/auth/me", headers=headers).json()["permissions"] == ["audit:read"]
    assert client.get("/api/audit", headers=headers).status_code == 200
    assert client.get("/api/users", headers=headers).status_code == 403
    unknown = client.post(
        "/api/roles", json={"name": "bad", "permissions": ["made:up"]}, headers=admin
    )
    assert unknown.status_code == 422


def test_builtin_roles_are_protected(client: TestClient, auth_headers: Any) -> None:
    admin = auth_headers("admin")
    roles = {r["name"]: r for r in client.get("/api/roles", headers=admin).json()}
    assert set(BUILTIN_ROLES) <= set(roles)
    assert sorted(roles["admin"]["permissions"]) == sorted(p.value for p in Permission)
    doctor = roles["doctor"]["id"]
    assert (
        client.patch(f"/api/roles/{doctor}", json={"permissions": []}, headers=admin).status_code
        == 409
    )
    assert client.delete(f"/api/roles/{doctor}", headers=admin).status_code == 409


# role → routes it may and may not reach (status when allowed, 403 otherwise)
MATRIX = {
    "admin": {"/api/users": 200, "/api/roles": 200, "/api/audit": 200, "/api/permissions": 200},
    "doctor": {"/api/users": 403, "/api/roles": 403, "/api/audit": 403, "/api/permissions": 403},
    "technician": {"/api/users": 403, "/api/audit": 403},
    "nurse": {"/api/users": 403, "/api/audit": 403},
}


@pytest.mark.parametrize("role", sorted(MATRIX))
def test_permission_matrix(client: TestClient, auth_headers: Any, role: str) -> None:
    headers = auth_headers(role)
    for path, status in MATRIX[role].items():
        assert client.get(path, headers=headers).status_code == status, path


def test_users_list_pages_with_total(client: TestClient, auth_headers: Any, make_user: Any) -> None:
    admin = auth_headers("admin")
    for _ in range(3):
        make_user("nurse")
    page = client.get("/api/users?limit=2&offset=0", headers=admin).json()
    assert page["total"] == 4
    assert len(page["items"]) == 2
    assert "password_hash" not in page["items"][0]
    assert TEST_PASSWORD not in str(page)
