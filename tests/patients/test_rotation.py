"""`hounsfield patients rotate-key`: every record re-encrypted with a new key, nothing lost."""

from __future__ import annotations

import base64
import os
import threading
from collections.abc import Callable
from pathlib import Path

import sqlalchemy as sa
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from hounsfield.audit.models import AuditEvent
from hounsfield.cli import app as cli
from hounsfield.db import transaction
from hounsfield.patients import crypto
from hounsfield.patients.models import PatientRecord

NATIONAL_ID = "11010519491231002X"
PHONE = "13812348000"


def _key_ids() -> list[str | None]:
    with transaction() as session:
        return list(session.scalars(sa.select(PatientRecord.key_id).order_by(PatientRecord.id)))


def test_rotate_key_reencrypts_every_record_and_search_still_finds_them(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    admin = auth_headers("admin")
    for mrn in ("K1", "K2"):
        body = {"mrn": mrn, "national_id": NATIONAL_ID, "phone": PHONE}
        assert client.post("/api/patients", json=body, headers=admin).status_code == 201
    client.post("/api/patients", json={"mrn": "K3"}, headers=admin)  # nothing to encrypt
    before = _key_ids()
    assert before[0] is not None
    assert before[2] is None

    result = CliRunner().invoke(cli, ["patients", "rotate-key"])
    assert result.exit_code == 0, result.output
    assert "2 patient records re-encrypted" in result.output
    after = _key_ids()
    assert after[0] == after[1] != before[0]
    assert after[2] is None
    with transaction() as session:
        rotations = session.scalars(
            sa.select(AuditEvent.detail).where(AuditEvent.action == "patient.rotate_key")
        ).all()
    assert len(rotations) == 1

    items = client.get("/api/patients", params={"q": NATIONAL_ID}, headers=admin).json()["items"]
    assert [(p["mrn"], p["national_id"], p["phone"]) for p in items] == [
        ("K1", NATIONAL_ID, PHONE),
        ("K2", NATIONAL_ID, PHONE),
    ]
    again = CliRunner().invoke(cli, ["patients", "rotate-key", "--no-new-key"])
    assert "0 patient records re-encrypted" in again.output


def test_configured_keys_decrypt_with_any_and_encrypt_with_the_first() -> None:
    old, new = os.urandom(32), os.urandom(32)

    def encoded(key: bytes) -> str:
        return base64.urlsafe_b64encode(key).decode()

    first = crypto._parse_keyring(f"a:{encoded(old)}")
    token = first.encrypt("phone", PHONE)
    both = crypto._parse_keyring(f"b:{encoded(new)},a:{encoded(old)}")
    assert both.current == "b"
    assert both.decrypt("a", "phone", token) == PHONE
    assert both.decrypt("b", "phone", both.encrypt("phone", PHONE)) == PHONE
    assert token != first.encrypt("phone", PHONE)  # a fresh nonce each time


def test_threads_that_need_the_first_key_at_once_share_one(tmp_path: Path) -> None:
    """The first key is generated once even when eight ingests ask for it together (a
    two-part STOW used to fail one part with FileExistsError), and never half-written."""
    directory = tmp_path / "patient-keys"
    barrier = threading.Barrier(8)
    rings: list[crypto.Keyring] = []

    def first_use() -> None:
        barrier.wait()
        rings.append(crypto._generated_keyring.__wrapped__(directory))

    threads = [threading.Thread(target=first_use) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert [p.name for p in directory.iterdir()] == ["1.key"]
    assert {ring.current for ring in rings} == {"1"}
    assert len({ring.keys["1"] for ring in rings}) == 1
    crypto.forget()
