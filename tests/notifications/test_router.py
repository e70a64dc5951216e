"""HTTP: /api/notifications: paging and unread counts, read state, preferences, push
subscriptions, and the upload-finished emitter."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer
from hounsfield.db import transaction
from hounsfield.notifications import service
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes

Kind = service.Kind
Headers = Callable[..., dict[str, str]]


def _alerts(emit: Callable[..., Any], user: Any, count: int) -> None:
    for n in range(count):
        emit(Kind.system_alert, recipients=[user.id], params={"alert": f"alert-{n}"})


def test_paging_unread_count_and_read_state(
    client: TestClient, emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    user = make_user("nurse")
    headers = login(client, user.username)
    _alerts(emit, user, 3)
    page = client.get("/api/notifications?limit=2", headers=headers).json()
    assert (page["total"], page["unread"], len(page["items"])) == (3, 3, 2)
    newest = page["items"][0]
    assert (newest["title"], newest["params"]) == ("系统告警：alert-2", {"alert": "alert-2"})
    english = client.get("/api/notifications?offset=2",
                         headers={**headers, "Accept-Language": "en"}).json()  # fmt: skip
    assert [i["title"] for i in english["items"]] == ["System alert: alert-0"]

    read = client.post(f"/api/notifications/{newest['id']}/read", headers=headers)
    assert read.status_code == 200
    assert read.json()["read_at"] is not None
    unread = client.get("/api/notifications?unread=true", headers=headers).json()
    assert (unread["total"], unread["unread"]) == (2, 2)
    assert client.post("/api/notifications/read-all", headers=headers).json() == {
        "marked": 2, "unread": 0}  # fmt: skip


def test_another_users_notification_is_not_found(
    client: TestClient, emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    owner, other = make_user("doctor"), make_user("doctor")
    _alerts(emit, owner, 1)
    item = client.get("/api/notifications", headers=login(client, owner.username)).json()
    target = f"/api/notifications/{item['items'][0]['id']}/read"
    headers = login(client, other.username)
    response = client.post(target, headers=headers)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "notification_not_found"
    assert response.json()["error"]["message"] == "通知不存在。"
    english = client.post(target, headers={**headers, "Accept-Language": "en-US,en;q=0.9"})
    assert english.json()["error"]["message"] == "No such notification."


def test_listing_is_audited(
    client: TestClient, emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    user = make_user("doctor")
    _alerts(emit, user, 2)
    client.get("/api/notifications", headers=login(client, user.username))
    flush_buffer()
    with transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "notification.list")
        ).all()
    assert [(e.actor_username, e.detail) for e in events] == [(user.username, '{"count": 2}')]


def test_preferences_round_trip_and_validation(
    client: TestClient, auth_headers: Headers, settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_NOTIFICATIONS__SMTP_HOST="127.0.0.1")
    headers = auth_headers("doctor")
    defaults = client.get("/api/notifications/preferences", headers=headers).json()
    assert defaults["channels"]["critical_result"] == ["in_app", "email", "sms", "push"]
    assert defaults["available"] == ["in_app", "email"]
    body = {"email": "li.si@hospital.example", "phone": "+86 13800138000",
            "channels": {"upload_finished": ["email", "in_app"]}}  # fmt: skip
    saved = client.put("/api/notifications/preferences", json=body, headers=headers).json()
    assert saved["channels"]["upload_finished"] == ["in_app", "email"]
    assert saved["channels"]["critical_result"] == defaults["channels"]["critical_result"]
    assert client.get("/api/notifications/preferences", headers=headers).json() == saved
    for bad in ({"email": "a\x00@b.c"}, {"phone": "call me"}, {"channels": {"x": ["email"]}},
                {"channels": {"system_alert": ["fax"]}}):  # fmt: skip
        response = client.put("/api/notifications/preferences", json=bad, headers=headers)
        assert response.status_code == 422, bad


def test_push_subscription_and_key(
    client: TestClient, auth_headers: Headers, settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_NOTIFICATIONS__VAPID_SUBJECT="mailto:a@b.example")
    headers = auth_headers("technician")
    key = client.get("/api/notifications/push/key", headers=headers).json()["public_key"]
    assert len(key) == 87  # base64url of a 65-byte uncompressed P-256 point
    subscription = {"endpoint": "https://push.example.org/wpush/v2/abc",
                    "keys": {"p256dh": "B" * 87, "auth": "A" * 22}}  # fmt: skip
    created = client.post("/api/notifications/push/subscriptions", json=subscription,
                          headers=headers)  # fmt: skip
    assert created.status_code == 201
    again = client.post("/api/notifications/push/subscriptions", json=subscription,
                        headers=headers)  # fmt: skip
    assert again.json()["id"] == created.json()["id"]  # the same endpoint is kept once
    subscription["endpoint"] = "javascript:alert(1)"
    refused = client.post("/api/notifications/push/subscriptions", json=subscription,
                          headers=headers)  # fmt: skip
    assert refused.status_code == 422


def test_an_upload_tells_the_uploader_what_became_of_it(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    user = make_user("technician")
    headers = login(client, user.username)
    files = [("files", ("a.dcm", to_bytes(make_dataset()), "application/octet-stream")),
             ("files", ("notes.txt", b"not dicom", "text/plain"))]  # fmt: skip
    assert client.post("/api/uploads", files=files, headers=headers).status_code == 200
    page = client.get("/api/notifications", headers=headers).json()
    assert page["unread"] == 1
    item = page["items"][0]
    assert item["kind"] == "upload_finished"
    assert item["params"] == {"stored": 1, "duplicates": 0, "refused": 1}
    assert item["title"] == "上传完成：存储 1，重复 0，拒绝 1"
