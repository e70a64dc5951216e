"""POST /api/notifications/alerts: Alertmanager's webhook becomes system_alert notifications
for the administrators and the group robots."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

from hounsfield.worker import shutdown_local_pool
from tests.conftest import login
from tests.notifications.receivers import HttpReceiver

FIRING = {
    "version": "4",
    "status": "firing",
    "receiver": "oncall",
    "alerts": [
        {"status": "firing",
         "labels": {"alertname": "HounsfieldDiskNearlyFull", "severity": "critical"},
         "annotations": {"summary": "Less than 10% free on the data directory's file system"},
         "startsAt": "2026-12-02T01:00:00Z"},
        {"status": "resolved", "labels": {"alertname": "HounsfieldApiDown"}, "annotations": {}},
    ],
}  # fmt: skip


def test_a_firing_alert_reaches_the_admins_and_the_robot(
    client: TestClient, make_user: Callable[..., Any], settings_env: Callable[..., None]
) -> None:
    with HttpReceiver() as robot:
        settings_env(HOUNSFIELD_NOTIFICATIONS__WECOM_WEBHOOK=robot.url)
        alertmanager, admin = make_user("admin"), make_user("admin")
        response = client.post("/api/notifications/alerts", json=FIRING,
                               headers=login(client, alertmanager.username))  # fmt: skip
        assert response.json() == {"emitted": 1}  # the resolved one is not news
        shutdown_local_pool(wait=True)
        got = robot.next_request()
    assert got.json()["text"]["content"] == "系统告警：HounsfieldDiskNearlyFull"
    page = client.get("/api/notifications", headers=login(client, admin.username)).json()
    assert [(i["title"], i["detail"]) for i in page["items"]] == [
        ("系统告警：HounsfieldDiskNearlyFull",
         "Less than 10% free on the data directory's file system")]  # fmt: skip


def test_alerts_need_the_admin_permission_and_valid_text(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    response = client.post("/api/notifications/alerts", json=FIRING, headers=auth_headers("doctor"))
    assert response.status_code == 403
    bad = {"alerts": [{"status": "firing", "labels": {"alertname": "x\x00"}}]}
    response = client.post("/api/notifications/alerts", json=bad, headers=auth_headers("admin"))
    assert response.status_code == 422
