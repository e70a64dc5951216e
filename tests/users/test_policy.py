"""Password and administration policy (issue 14.17): breached passwords, the last admin."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient

from tests.conftest import TEST_PASSWORD, login


@pytest.mark.parametrize("password", ["Password123", "1234567890", "QWERTYUIOP", "iloveyou12"])
def test_common_passwords_are_refused(client: TestClient, auth_headers: Any, password: str) -> None:
    body = {"username": "new.user", "password": password, "roles": ["doctor"]}
    response = client.post("/api/users", json=body, headers=auth_headers("admin"))
    assert response.status_code == 422
    assert response.json()["error"]["code"] == "password_rejected"
    assert any("common" in p for p in response.json()["error"]["details"]["problems"])


def test_a_common_password_is_refused_on_change_too(client: TestClient, make_user: Any) -> None:
    user = make_user("nurse")
    headers = login(client, user.username)
    change = {"current_password": TEST_PASSWORD, "new_password": "Password123"}
    assert client.post("/api/auth/password", json=change, headers=headers).status_code == 422
    change["new_password"] = "Ward-7-night-shift-kettle"
    assert client.post("/api/auth/password", json=change, headers=headers).status_code == 204


def _patch(client: TestClient, headers: dict[str, str], user_id: Any, **body: Any) -> Any:
    return client.patch(f"/api/users/{user_id}", json=body, headers=headers)


def test_the_last_admin_cannot_be_removed_or_deactivated(
    client: TestClient, make_user: Any
) -> None:
    first = make_user("admin")
    headers = login(client, first.username)
    for change in ({"roles": ["doctor"]}, {"active": False}, {"roles": []}):
        refused = _patch(client, headers, first.id, **change)
        assert refused.status_code == 409, change
        assert refused.json()["error"]["code"] == "last_admin"
    assert _patch(client, headers, first.id, display_name="Still here").status_code == 200

    second = make_user(["admin", "doctor"])
    inactive = make_user("admin")
    assert _patch(client, headers, inactive.id, active=False).status_code == 200
    assert _patch(client, headers, first.id, roles=["doctor"]).status_code == 200
    other = login(client, second.username)
    assert _patch(client, other, second.id, roles=["doctor"]).status_code == 409  # last again
    assert _patch(client, other, second.id, roles=["admin"]).status_code == 200  # keeps admin
