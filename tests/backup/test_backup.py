"""Backup and restore (issue 11, SECURITY D9): back up a running instance, restore it into a
fresh data directory, and prove that every instance, report and audit row came back, every
object with its bytes, and the audit chain verifies; an object or a dump altered in the
backup is found by `backup verify` and refused by `restore`. The commands run as the
operator runs them: `hounsfield backup|restore` in processes of their own."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.audit import service as audit_service
from hounsfield.backup import crypto
from hounsfield.config import get_settings
from hounsfield.db import get_engine
from hounsfield.worker import shutdown_local_pool
from tests.ai.helpers import fixed_detector, manifest, upload
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body

ON_SQLITE = pytest.mark.once  # the online backup API; the dump tools: test_server_databases


def _cli(
    *args: str, data_dir: Path | None = None, database_url: str | None = None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k.startswith("HOUNSFIELD_") or k == "PATH"}
    if data_dir is not None:  # a fresh instance: its own directory and database
        env["HOUNSFIELD_DATA_DIR"] = str(data_dir)
        env.pop("HOUNSFIELD_DATABASE_URL", None)  # SQLite: the default file in data_dir
        if database_url is not None:
            env["HOUNSFIELD_DATABASE_URL"] = database_url
    return subprocess.run(
        [sys.executable, "-m", "hounsfield.cli", *args],
        env={**env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True, text=True, timeout=120, check=False,
    )  # fmt: skip


def _stow(client: TestClient, headers: dict[str, str], *datasets: Any) -> None:
    body, content_type = multipart_body([to_bytes(ds) for ds in datasets])
    stored = client.post("/dicom-web/studies", content=body,
                         headers={**headers, "Content-Type": content_type})  # fmt: skip
    assert stored.status_code == 200, stored.text


def _rows(engine: sa.Engine, query: str) -> list[tuple[Any, ...]]:
    with engine.connect() as conn:
        return [tuple(r) for r in conn.execute(sa.text(query))]


def _secrets(directory: Path, *, sealed: bool = False) -> dict[str, bytes]:
    """The generated keys but the token and backup keys, by name (decrypted if `sealed`)."""
    key = crypto.backup_key(get_settings())

    def read(path: Path) -> bytes:
        return b"".join(crypto.unsealed(path, key)) if sealed else path.read_bytes()

    return {p.relative_to(directory).as_posix(): read(p) for p in directory.rglob("*")
            if p.is_file() and p.name not in ("token.key", crypto.KEY_FILE)
            and not p.name.startswith(".")}  # fmt: skip


def _give_key(data_dir: Path) -> None:
    """What the operator does before a restore: put the backup key kept apart in place."""
    (data_dir / "secrets").mkdir(parents=True, mode=0o700)
    kept = get_settings().data_dir / "secrets" / crypto.KEY_FILE
    (data_dir / "secrets" / crypto.KEY_FILE).write_bytes(kept.read_bytes())
    (data_dir / "secrets" / crypto.KEY_FILE).chmod(0o600)


INSTANCES = "SELECT sop_instance_uid, sha256, size, storage_key FROM instances ORDER BY 1"
REPORTS = "SELECT id, status, version, findings FROM reports ORDER BY 1"
AUDIT = "SELECT id, seq, hash FROM audit_events WHERE seq IS NOT NULL ORDER BY seq"


@pytest.fixture
def archive(
    client: TestClient, auth_headers: Callable[..., dict[str, str]], make_user: Callable[..., Any]
) -> dict[str, Any]:
    """Two studies of two patients, a signed report, an AI model file, the audit of it all."""
    technician, admin = auth_headers("technician"), auth_headers("admin")
    first = make_dataset(PatientID="BK-1", PatientName="王^备份")
    second = make_dataset(StudyInstanceUID=first.StudyInstanceUID,
                          SeriesInstanceUID=first.SeriesInstanceUID, PatientID="BK-1",
                          PatientName="王^备份", InstanceNumber=2, seed=2)  # fmt: skip
    _stow(client, technician, first, second)
    _stow(client, technician, make_dataset(PatientID="BK-2", seed=3))
    doctor = login(client, make_user("doctor").username)
    report = client.post("/api/reports", json={"study_instance_uid": first.StudyInstanceUID},
                         headers=doctor).json()  # fmt: skip
    signed = client.post(f"/api/reports/{report['id']}/approve", headers=doctor)
    assert signed.status_code == 200, signed.text
    assert (
        upload(client, admin, manifest("boxes", "detection"), fixed_detector()).status_code == 201
    )
    shutdown_local_pool(wait=True)  # the report's SR and the series' derived work are done
    audit_service.flush_buffer()
    audit_service.seal_all()
    return {"report": report["id"], "client": client, "headers": technician}


@ON_SQLITE
def test_backup_restore_into_a_fresh_data_dir_brings_everything_back(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    source = get_engine()
    before = {q: _rows(source, q) for q in (INSTANCES, REPORTS, AUDIT)}
    n = len(before[INSTANCES])
    assert n >= 3  # the 3 stored, and the signed report's SR if it is exported
    assert len(before[REPORTS]) == 1
    target = tmp_path / "backup"
    made = _cli("backup", "--output", str(target))
    assert made.returncode == 0, made.stderr
    assert f"{n + 1} objects, {n + 1} copied" in made.stdout  # the instances, the model file

    # Incremental: a second snapshot copies only what is new.
    _stow(archive["client"], archive["headers"], make_dataset(PatientID="BK-3", seed=4))
    shutdown_local_pool(wait=True)
    again = _cli("backup", "--output", str(target))
    assert again.returncode == 0, again.stderr
    assert f"{n + 2} objects, 1 copied" in again.stdout, again.stdout
    assert f"{n + 1} already in the target" in again.stdout
    snapshots = sorted(p.name for p in (target / "snapshots").iterdir())
    assert len(snapshots) == 2
    newest = target / "snapshots" / snapshots[-1]
    assert not (newest / "secrets" / "token.key").exists()  # sessions do not survive
    keys = _secrets(get_settings().data_dir / "secrets")
    assert "report-signing.key" in keys
    assert _secrets(newest / "secrets", sealed=True) == keys
    assert not (newest / "secrets" / crypto.KEY_FILE).exists()  # kept apart by the operator
    assert all(p.stat().st_mode & 0o077 == 0 for p in (newest / "secrets").rglob("*.key"))
    checked = _cli("backup", "verify", str(target))
    assert checked.returncode == 0, checked.stderr
    assert f"{n + 2} objects intact" in checked.stdout

    fresh = tmp_path / "fresh"
    keyless = _cli("restore", str(target), data_dir=fresh)
    assert keyless.returncode == 1
    assert "backup key is missing" in keyless.stderr
    _give_key(fresh)
    restored = _cli("restore", str(target), data_dir=fresh)
    assert restored.returncode == 0, restored.stderr
    copy = sa.create_engine(f"sqlite:///{fresh}/hounsfield.db")
    try:
        instances = _rows(copy, INSTANCES)
        assert len(instances) == n + 1
        assert set(before[INSTANCES]) <= set(instances)  # every instance, its digest, its key
        for _sop, sha, size, key in instances:  # and its bytes, in the new storage
            data = (fresh / "storage" / key).read_bytes()
            assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha)
        assert _rows(copy, REPORTS) == before[REPORTS]
        audit = _rows(copy, AUDIT)
        assert set(before[AUDIT]) <= set(audit)  # every sealed row, same place, same hash
        actions = [r[0] for r in _rows(copy, "SELECT action FROM audit_events ORDER BY seq")]
        assert actions.count("backup.create") == 1  # the first backup's own record, then
        assert actions[-1] == "backup.restore"  # the restore, chained after everything
    finally:
        copy.dispose()
    assert {k: v for k, v in _secrets(fresh / "secrets").items() if k in keys} == keys
    chain = _cli("audit", "verify", data_dir=fresh)
    assert chain.returncode == 0, chain.stderr
    assert "audit chain intact" in chain.stdout
    signature = _cli("report", "verify", archive["report"], data_dir=fresh)
    assert signature.returncode == 0, signature.stderr

    twice = _cli("restore", str(target), data_dir=fresh)  # never over an instance
    assert twice.returncode == 1
    assert "fresh instance" in twice.stderr


@ON_SQLITE
def test_verify_finds_a_tampered_object_and_restore_refuses_it(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    target = tmp_path / "backup"
    assert _cli("backup", "--output", str(target)).returncode == 0
    [snapshot] = (target / "snapshots").iterdir()
    key = json.loads((snapshot / "objects.jsonl").read_text().splitlines()[1])["key"]
    victim = target / "objects" / key
    data = bytearray(victim.read_bytes())
    data[-1] ^= 0xFF  # one bit of one pixel: same size, same name
    victim.write_bytes(bytes(data))
    checked = _cli("backup", "verify", str(target))
    assert checked.returncode == 1
    assert f"object {key} does not match its SHA-256" in checked.stderr
    _give_key(tmp_path / "fresh")
    refused = _cli("restore", str(target), data_dir=tmp_path / "fresh")
    assert refused.returncode == 1
    assert "does not verify" in refused.stderr
    assert not (tmp_path / "fresh" / "hounsfield.db").exists()
    # The objects before the altered one, put as they passed, were taken out again, and no
    # key was written: a restore of a repaired backup may run into the same instance.
    assert [p for p in (tmp_path / "fresh" / "storage").rglob("*") if p.is_file()] == []
    assert [p.name for p in (tmp_path / "fresh" / "secrets").iterdir()] == [crypto.KEY_FILE]

    victim.write_bytes(bytes(data[:-1]) + bytes([data[-1] ^ 0xFF]))  # repaired
    assert _cli("backup", "verify", str(target)).returncode == 0
    dump = snapshot / "database.sqlite3.sealed"
    altered = bytearray(dump.read_bytes())
    altered[len(altered) // 2] ^= 0x01  # the dump itself altered: one bit
    dump.write_bytes(bytes(altered))
    broken = _cli("backup", "verify", str(target))
    assert broken.returncode == 1
    assert "database.sqlite3.sealed does not match its SHA-256" in broken.stderr


@ON_SQLITE
def test_a_missing_object_makes_the_backup_fail_and_incomplete(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    with get_engine().connect() as conn:
        key = conn.execute(sa.text("SELECT storage_key FROM instances LIMIT 1")).scalar_one()
    (get_settings().data_dir / "storage" / key).unlink()
    made = _cli("backup", "--output", str(tmp_path / "backup"))
    assert made.returncode == 1
    assert f"object {key} is missing from the storage" in made.stderr
    checked = _cli("backup", "verify", str(tmp_path / "backup"))
    assert checked.returncode == 1
    assert "incomplete" in checked.stderr


@ON_SQLITE
def test_the_scheduled_backup_runs_when_due_and_keeps_the_newest(
    archive: dict[str, Any], tmp_path: Path, settings_env: Callable[..., None]
) -> None:
    from datetime import UTC, datetime, timedelta

    from hounsfield.backup import service
    from hounsfield.backup.tasks import scheduled_backup
    from hounsfield.schedule import PERIODIC

    assert scheduled_backup.name in PERIODIC
    assert scheduled_backup() is None  # no target configured: nothing happens
    target = tmp_path / "scheduled"
    settings_env(HOUNSFIELD_BACKUP__TARGET=str(target), HOUNSFIELD_BACKUP__KEEP="2")
    first = scheduled_backup()
    assert first is not None
    assert scheduled_backup() is None  # the newest is younger than interval_hours (24)
    assert service.snapshots(target) == [first]
    now = datetime.now(UTC)
    assert not service.due(target, timedelta(hours=24), now)
    assert service.due(target, timedelta(hours=24), now + timedelta(hours=24))

    for _ in range(2):  # two more, as later runs would make them
        assert not service.backup(get_settings(), target).problems
    removed, _objects = service.prune(target, keep=2)
    assert removed == [first]
    assert len(service.snapshots(target)) == 2
    assert service.verify(get_settings(), target).ok  # shared objects the kept snapshots list stay


@pytest.mark.server_db
def test_a_server_database_is_dumped_and_restored_into_an_empty_one(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    """MariaDB (mariadb-dump --single-transaction, mariadb) and PostgreSQL (pg_dump, pg_restore):
    the same round trip into an empty database of its own."""
    from sqlalchemy.engine import make_url

    from tests.conftest import _recreate_database

    source = get_engine()
    before = {q: _rows(source, q) for q in (INSTANCES, REPORTS, AUDIT)}
    target = tmp_path / "backup"
    made = _cli("backup", "--output", str(target))
    assert made.returncode == 0, made.stderr
    url = make_url(str(source.url.render_as_string(hide_password=False)))
    fresh_url = url.set(database=f"{url.database}_restore").render_as_string(hide_password=False)
    _recreate_database(fresh_url)
    fresh = tmp_path / "fresh"
    _give_key(fresh)
    restored = _cli("restore", str(target), data_dir=fresh, database_url=fresh_url)
    assert restored.returncode == 0, restored.stderr
    copy = sa.create_engine(fresh_url)
    try:
        assert _rows(copy, INSTANCES) == before[INSTANCES]
        assert _rows(copy, REPORTS) == before[REPORTS]
        assert set(before[AUDIT]) <= set(_rows(copy, AUDIT))
    finally:
        copy.dispose()
    for _sop, sha, _size, key in before[INSTANCES]:
        assert hashlib.sha256((fresh / "storage" / key).read_bytes()).hexdigest() == sha
    chain = _cli("audit", "verify", data_dir=fresh, database_url=fresh_url)
    assert chain.returncode == 0, chain.stderr
    twice = _cli("restore", str(target), data_dir=tmp_path / "other", database_url=fresh_url)
    assert twice.returncode == 1
    assert "empty database" in twice.stderr


@ON_SQLITE
def test_no_backup_file_holds_patient_data_or_keys_in_the_clear(
    archive: dict[str, Any], tmp_path: Path
) -> None:
    """SECURITY P6: a canary patient's name, ID and pixel bytes, and every generated key,
    appear in no file of the backup (they are all in the database, storage and data dir)."""
    canary = make_dataset(PatientID="ZZCANARY-ID-4711", PatientName="ZZCANARY^测试患者", seed=9)
    _stow(archive["client"], archive["headers"], canary)
    shutdown_local_pool(wait=True)
    target = tmp_path / "backup"
    made = _cli("backup", "--output", str(target))
    assert made.returncode == 0, made.stderr
    pixels = bytes(canary.PixelData)[-64:]
    assert len(set(pixels)) > 8  # noise, not a run of zeros any file could hold
    needles = [b"ZZCANARY", "测试患者".encode(), "测试患者".encode("gb18030"), pixels]
    settings = get_settings()
    [dump] = target.glob("snapshots/*/database.*.sealed")
    plain = b"".join(crypto.unsealed(dump, crypto.backup_key(settings)))
    assert b"ZZCANARY" in plain  # what an unencrypted backup would show
    needles += [p.read_bytes().strip() for p in (settings.data_dir / "secrets").rglob("*.key")]
    assert all(len(n) >= 8 for n in needles)
    files = [p for p in target.rglob("*") if p.is_file()]
    assert len(files) >= 6
    leaks = [(p.name, n[:12]) for p in files for n in needles if n in p.read_bytes()]
    assert leaks == []
    checked = _cli("backup", "verify", str(target))
    assert checked.returncode == 0, checked.stderr
