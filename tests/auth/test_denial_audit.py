"""Refusals are audited as DICOM A.5 Security Alerts (issue 14.15, auth part)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer
from hounsfield.db import transaction

SECURITY_ALERT = "110113"


def _rows(action: str) -> list[AuditEvent]:
    flush_buffer()
    with transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == action)))


def test_every_401_is_audited_as_a_security_alert(client: TestClient) -> None:
    attempts = [
        client.get("/api/users"),
        client.get("/api/users", headers={"Authorization": "Bearer not-a-jwt"}),
        client.get("/dicom-web/studies", headers={"Authorization": "Basic eDp5"}),
        client.post("/api/auth/refresh", json={"refresh_token": "stolen-or-made-up"}),
    ]
    assert [r.status_code for r in attempts] == [401] * 4
    rows = _rows("auth.denied")
    assert len(rows) == 4
    assert {r.event_code for r in rows} == {SECURITY_ALERT}
    assert all(r.outcome != 0 for r in rows)
    paths = sorted(json.loads(r.detail)["path"] for r in rows)
    assert paths == ["/api/auth/refresh", "/api/users", "/api/users", "/dicom-web/studies"]
    assert all("not-a-jwt" not in r.detail for r in rows)  # credentials never audited


def test_a_403_is_a_security_alert_not_a_patient_record(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    response = client.get("/api/users", headers=auth_headers("nurse"))
    assert response.status_code == 403
    rows: list[Any] = _rows("access.denied")
    assert len(rows) == 1
    assert rows[0].event_code == SECURITY_ALERT
    assert json.loads(rows[0].detail)["permission"] == "user:read"
