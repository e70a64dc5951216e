"""What the administrator console relies on (issue 13): first-login password change,
unlocking, role defaults, system status with masked secrets, audit CSV and chain check,
and API docs that load nothing from another host."""

from __future__ import annotations

import csv
import io
import re
from typing import Any

from fastapi.testclient import TestClient
from pydantic import SecretStr
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.auth import keys
from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.monitoring.status import MASK, mask_url, masked_settings
from hounsfield.users.permissions import BUILTIN_ROLES, Permission
from tests.conftest import TEST_PASSWORD, login

ADMIN_SET = "Chosen-By-Admin-2026"
OWN = "Picked-By-Me-2026!x"


def _create(client: TestClient, admin: dict[str, str], username: str) -> dict[str, Any]:
    body = {"username": username, "password": ADMIN_SET, "roles": ["doctor"]}
    created = client.post("/api/users", json=body, headers=admin)
    assert created.status_code == 201, created.text
    return dict(created.json())


def test_a_password_set_by_an_admin_must_be_changed_before_anything_else(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    created = _create(client, admin, "first.login")
    assert created["must_change_password"] is True
    headers = login(client, "first.login", ADMIN_SET)
    me = client.get("/api/auth/me", headers=headers)
    assert me.status_code == 200
    assert me.json()["must_change_password"] is True

    refused = client.get("/api/studies", headers=headers)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "password_change_required"
    assert "修改密码" in refused.json()["error"]["message"]  # zh-CN by default
    english = client.get("/api/studies", headers={**headers, "Accept-Language": "en"})
    assert english.json()["error"]["message"].startswith("Change your password first")

    change = {"current_password": ADMIN_SET, "new_password": OWN}
    assert client.post("/api/auth/password", json=change, headers=headers).status_code == 204
    fresh = login(client, "first.login", OWN)  # the change ended the old session
    assert client.get("/api/auth/me", headers=fresh).json()["must_change_password"] is False
    assert client.get("/api/studies", headers=fresh).status_code == 200

    # An administrator's reset sets the flag again.
    reset = client.patch(
        f"/api/users/{created['id']}", json={"password": ADMIN_SET + "x"}, headers=admin
    )
    assert reset.json()["must_change_password"] is True
    again = login(client, "first.login", ADMIN_SET + "x")
    assert client.get("/api/studies", headers=again).status_code == 403


def test_accounts_made_from_the_command_line_need_no_change(
    client: TestClient, make_user: Any
) -> None:
    user = make_user("doctor")  # actor None: the operator chose the password at the console
    headers = login(client, user.username)
    assert client.get("/api/studies", headers=headers).status_code == 200


def test_an_admin_unlocks_a_locked_account_and_it_is_audited(
    client: TestClient, auth_headers: Any, make_user: Any
) -> None:
    admin = auth_headers("admin")
    user = make_user("nurse")
    for _ in range(5):
        bad = {"username": user.username, "password": "wrong-password-x"}
        client.post("/api/auth/login", json=bad)
    locked = client.post(
        "/api/auth/login", json={"username": user.username, "password": TEST_PASSWORD}
    )
    assert locked.status_code == 423
    assert client.get(f"/api/users/{user.id}", headers=admin).json()["locked"] is True

    nurse = auth_headers("nurse")
    assert client.post(f"/api/users/{user.id}/unlock", headers=nurse).status_code == 403
    unlocked = client.post(f"/api/users/{user.id}/unlock", headers=admin)
    assert unlocked.status_code == 200
    assert unlocked.json()["locked"] is False
    login(client, user.username)
    audit_service.flush_buffer()
    with transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "user.unlock")).one()
    assert '"was_locked": true' in event.detail


def test_technicians_send_to_devices_and_nurses_do_not(
    client: TestClient, auth_headers: Any
) -> None:
    assert Permission.image_send in BUILTIN_ROLES["technician"][1]
    assert Permission.image_export not in BUILTIN_ROLES["technician"][1]
    body = {"device_id": "00000000-0000-0000-0000-000000000000"}
    path = "/api/studies/1.2.3/send"
    assert client.post(path, json=body, headers=auth_headers("technician")).status_code != 403
    assert client.post(path, json=body, headers=auth_headers("nurse")).status_code == 403


def test_system_status_shows_every_part_and_masks_secrets(
    client: TestClient, auth_headers: Any
) -> None:
    assert client.get("/api/system/status", headers=auth_headers("doctor")).status_code == 403
    response = client.get("/api/system/status", headers=auth_headers("admin"))
    assert response.status_code == 200
    body = response.json()
    assert {c["name"] for c in body["checks"]} == {"database", "storage", "redis"}
    assert body["ready"] is True
    assert body["disk"]["free_bytes"] > 0
    assert body["disk"]["total_bytes"] >= body["disk"]["used_bytes"]
    assert body["backlog"]["pending"] >= 0
    assert body["dicom"]["state"] in ("running", "listening", "not_listening", "disabled")
    assert body["settings"]["auth"]["access_token_minutes"] >= 1
    assert keys.token_key(get_settings()) not in response.text


def test_masking_covers_typed_secrets_urls_and_credential_names() -> None:
    settings = get_settings().model_copy(
        update={
            "secret_key": SecretStr("s" * 40),
            "database_url": "postgresql+psycopg://hf:db-pass-123@db:5432/hf",
            "redis_url": "redis://:redis-pass@cache:6379/0",
        }
    )
    masked = masked_settings(settings)
    text = repr(masked)
    assert masked["secret_key"] == MASK
    assert "db-pass-123" not in text
    assert "redis-pass" not in text
    assert "s" * 40 not in text
    assert masked["database_url"] == f"postgresql+psycopg://hf:{MASK}@db:5432/hf"
    assert mask_url("https://oapi.example/robot/send?access_token=abc") == (
        f"https://oapi.example/robot/send?{MASK}"
    )


def test_audit_csv_export_and_chain_verification(client: TestClient, auth_headers: Any) -> None:
    admin = auth_headers("admin")
    # A username that a spreadsheet would take for a formula is written as text.
    client.post("/api/auth/login", json={"username": "=HYPERLINK(1)", "password": "x"})
    audit_service.flush_buffer()
    audit_service.seal_all()
    verify = client.get("/api/audit/verify", headers=admin)
    assert verify.status_code == 200
    assert verify.json()["ok"] is True
    assert verify.json()["checked"] >= 2

    exported = client.get("/api/audit/export.csv", params={"action": "auth.login"}, headers=admin)
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text.lstrip("\ufeff"))))
    assert rows
    assert all(r["action"] == "auth.login" for r in rows)
    assert "'=HYPERLINK(1)" in {r["actor_username"] for r in rows}
    nurse = auth_headers("nurse")
    assert client.get("/api/audit/export.csv", headers=nurse).status_code == 403
    assert client.get("/api/audit/verify", headers=nurse).status_code == 403


def test_api_docs_load_nothing_from_another_host(client: TestClient) -> None:
    for page in ("/docs", "/redoc"):
        html = client.get(page).text
        urls = re.findall(r"""(?:src|href|url)\s*[:=]\s*['"]([^'"]+)['"]""", html)
        assert urls, page
        external = [u for u in urls if re.match(r"^(https?:)?//", u)]
        assert external == [], (page, external)
        for url in urls:
            if url.startswith("/docs/assets/"):
                assert client.get(url).status_code == 200, url
    assert client.get("/docs/assets/../../etc/passwd").status_code == 404
    assert client.get("/docs/assets/core.py").status_code == 404


def test_server_messages_follow_accept_language(client: TestClient) -> None:
    wrong = {"username": "nobody", "password": "wrong-password-x"}
    chinese = client.post("/api/auth/login", json=wrong)
    assert chinese.json()["error"]["message"] == "用户名或密码错误。"
    english = client.post("/api/auth/login", json=wrong, headers={"Accept-Language": "en"})
    assert english.json()["error"]["message"] == "Wrong username or password."
    invalid = client.post("/api/auth/login", json={"username": ""})
    assert invalid.json()["error"]["message"] == "输入有误，请检查后重试。"
    missing = client.get("/api/no/such/route", headers={"Accept-Language": "en-GB,zh;q=0.5"})
    assert missing.json()["error"]["message"].isascii()
    assert "未找到" in client.get("/api/no/such/route").json()["error"]["message"]
