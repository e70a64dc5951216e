"""Group departments are DICOM LO values (found by schemathesis on PostgreSQL: a NUL was a 500)."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient


@pytest.mark.parametrize("department", ["CT\x00", "A\\B", "x\ny"])
def test_a_department_with_control_characters_is_refused(
    client: TestClient, auth_headers: Any, department: str
) -> None:
    body = {"name": "g1", "department": department}
    response = client.post("/api/groups", json=body, headers=auth_headers("admin"))
    assert response.status_code == 422


def test_a_plain_department_is_accepted(client: TestClient, auth_headers: Any) -> None:
    body = {"name": "g2", "department": "放射科"}
    response = client.post("/api/groups", json=body, headers=auth_headers("admin"))
    assert response.status_code in (200, 201)
