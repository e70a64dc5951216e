"""Critical results (危急值): flagged, the first contact notified, escalated to the next one
when not acknowledged in time (the check takes `now`), acknowledged, listed open/closed,
every step audited."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction, utcnow
from hounsfield.reports import critical
from hounsfield.schedule import PERIODIC
from tests.conftest import login


def critical_notifications(client: TestClient, headers: dict[str, str]) -> list[dict[str, Any]]:
    page = client.get("/api/notifications", headers=headers).json()
    return [n for n in page["items"] if n["kind"] == "critical_result"]


def test_flag_escalate_acknowledge(
    client: TestClient, doctors: list[Any], study_uid: str, make_user: Callable[..., Any]
) -> None:
    (_, as_wang), (li, as_li) = doctors
    zhao = make_user("doctor", display_name="赵医生")
    as_zhao = login(client, zhao.username)
    flagged = client.post(
        "/api/critical-results",
        json={"study_instance_uid": study_uid, "finding": "张力性气胸，需立即处理",
              "contacts": [str(li.id), str(zhao.id)]},
        headers=as_wang,
    )  # fmt: skip
    assert flagged.status_code == 201, flagged.text
    item = flagged.json()
    assert item["open"] is True
    assert item["current_contact"] == str(li.id)
    first = critical_notifications(client, as_li)
    assert len(first) == 1
    assert "R1" in first[0]["title"]  # the accession number, never the finding or a name
    assert "气胸" not in first[0]["title"]
    assert critical_notifications(client, as_zhao) == []

    # Not yet overdue (the default is 15 minutes): nobody else is told.
    with transaction(write=True) as session:
        assert critical.escalate_due(session, utcnow() + timedelta(minutes=14)) == 0
    assert critical_notifications(client, as_zhao) == []
    with transaction(write=True) as session:
        assert critical.escalate_due(session, utcnow() + timedelta(minutes=16)) == 1
    assert len(critical_notifications(client, as_zhao)) == 1

    refused = client.post(f"/api/critical-results/{item['id']}/acknowledge", headers=as_wang)
    assert refused.status_code == 403  # the author is not a contact
    assert refused.json()["error"]["code"] == "not_a_contact"
    acked = client.post(f"/api/critical-results/{item['id']}/acknowledge", headers=as_zhao)
    assert acked.status_code == 200, acked.text
    assert acked.json()["open"] is False
    assert acked.json()["acknowledged_by_id"] == str(zhao.id)
    assert acked.json()["acknowledged_at"] is not None
    again = client.post(
        f"/api/critical-results/{item['id']}/acknowledge",
        headers={**as_li, "Accept-Language": "en"},
    )
    assert again.status_code == 409
    assert again.json()["error"]["message"] == "The critical result was already acknowledged"
    with transaction(write=True) as session:  # an acknowledged result is never escalated
        assert critical.escalate_due(session, utcnow() + timedelta(hours=2)) == 0

    closed = client.get("/api/critical-results", params={"open": "false"}, headers=as_li).json()
    assert [c["id"] for c in closed["items"]] == [item["id"]]
    assert closed["total"] == 1
    opened = client.get("/api/critical-results", params={"open": "true"}, headers=as_li).json()
    assert opened == {"total": 0, "items": []}

    audit_service.flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == item["id"])
        ).all()
    for action in ("critical_result.flag", "critical_result.notify",
                   "critical_result.acknowledge"):  # fmt: skip
        assert action in actions, action
    assert actions.count("critical_result.notify") == 2


def test_flag_refuses_unknown_contacts_and_studies_in_chinese(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (_, as_wang), (li, _) = doctors
    unknown = client.post(
        "/api/critical-results",
        json={"study_instance_uid": study_uid, "finding": "急性出血",
              "contacts": ["00000000-0000-0000-0000-000000000001"]},
        headers=as_wang,
    )  # fmt: skip
    assert unknown.status_code == 400
    assert unknown.json()["error"]["message"] == "联系人不存在或已停用"
    missing = client.post(
        "/api/critical-results",
        json={"study_instance_uid": "1.2.3.4", "finding": "急性出血", "contacts": [str(li.id)]},
        headers=as_wang,
    )
    assert missing.status_code == 404


def test_escalation_is_a_scheduled_task() -> None:
    assert PERIODIC[critical.escalate_critical.name] == timedelta(minutes=1)
