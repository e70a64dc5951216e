"""The hash-chained audit trail (SECURITY.md U2, U4)."""

from __future__ import annotations

import os
import subprocess
import sys
from typing import Any

import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.audit import service
from hounsfield.audit.service import Anonymous
from hounsfield.db import get_engine, transaction


def _record(n: int) -> None:
    with transaction() as session:
        for i in range(n):
            service.record(session, "test.event", Anonymous(f"user{i}"), detail={"i": i})
    service.seal_all()


def _verify() -> service.VerifyResult:
    with transaction() as session:
        return service.verify(session)


def test_sealed_chain_verifies() -> None:
    _record(5)
    result = _verify()
    assert result.ok
    assert result.checked == 5
    assert result.unsealed == 0


def test_an_edited_row_is_named() -> None:
    _record(5)
    with get_engine().begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET actor_username = 'mallory' WHERE seq = 3"))
    result = _verify()
    assert not result.ok
    assert result.broken_seq == 3
    assert result.reason == "content altered"


def test_a_deleted_row_is_detected() -> None:
    _record(5)
    with get_engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 2"))
    result = _verify()
    assert result.broken_seq == 2
    assert result.reason == "row missing (deleted)"


def test_a_deleted_last_row_is_detected() -> None:
    _record(3)
    with get_engine().begin() as conn:
        conn.execute(sa.text("DELETE FROM audit_events WHERE seq = 3"))
    result = _verify()
    assert result.broken_seq == 3


def test_sealing_is_incremental() -> None:
    _record(2)
    _record(3)
    result = _verify()
    assert result.ok
    assert result.checked == 5


def _cli(*args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("HOUNSFIELD_") or k == "PATH"}
    return subprocess.run(
        [sys.executable, "-m", "hounsfield.cli", *args],
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_cli_audit_verify_reports_a_tampered_row() -> None:
    _record(4)
    ok = _cli("audit", "verify")
    assert ok.returncode == 0, ok.stderr
    assert "4 events verified" in ok.stdout
    with get_engine().begin() as conn:
        conn.execute(sa.text("UPDATE audit_events SET outcome = 0, detail = '{}' WHERE seq = 2"))
    broken = _cli("audit", "verify")
    assert broken.returncode == 1
    assert "event #2" in broken.stderr


def test_audit_api_filters_pages_and_is_itself_audited(
    client: TestClient, auth_headers: Any
) -> None:
    _record(3)
    headers = auth_headers("admin")  # its login is audited too
    page = client.get("/api/audit?action=test.event&limit=2", headers=headers).json()
    assert page["total"] == 3
    assert len(page["items"]) == 2
    assert page["items"][0]["detail"] == {"i": 2}  # newest first
    logins = client.get("/api/audit?action=auth.login", headers=headers).json()
    assert logins["total"] == 1
    assert logins["items"][0]["outcome"] == 0
    service.flush_buffer()  # reads of the trail are buffered access events
    reads = client.get("/api/audit?action=audit.read", headers=headers).json()
    assert reads["total"] == 2
    assert client.get("/api/audit", headers=auth_headers("doctor")).status_code == 403


def test_buffered_access_events_are_written_and_sealed() -> None:
    for i in range(3):
        service.record_access("image.retrieve", Anonymous("reader"), resource_id=f"1.2.{i}")
    assert service.flush_buffer() == 3
    service.seal_all()
    result = _verify()
    assert result.ok
    assert result.checked == 3
