"""Access audits are durable before the access is answered (issue 14.2): the fsync'd journal,
its group commit, its replay after a crash, and a real server killed with SIGKILL."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hounsfield.audit import service
from hounsfield.audit.journal import Journal
from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import Anonymous
from hounsfield.db import transaction
from tests.conftest import TEST_PASSWORD
from tests.dicomweb.helpers import multipart_body, read_dataset, sample_file
from tests.live_server import free_port, serve


def _count(action: str) -> int:
    with transaction() as session:
        query = select(func.count()).where(AuditEvent.action == action)
        return session.scalar(query) or 0


def test_concurrent_appends_share_fsyncs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    journal = Journal(tmp_path)
    real_fsync, fsyncs = os.fsync, []
    gate = threading.Event()

    def slow_fsync(fd: int) -> None:  # a disk that takes a while: others queue behind
        fsyncs.append(fd)
        gate.wait(0.05)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", slow_fsync)
    threads = [threading.Thread(target=journal.append, args=({"n": i},)) for i in range(40)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    segment = journal.rotate()
    assert segment is not None
    assert sorted(r["n"] for r in segment.records()) == list(range(40))
    assert len(fsyncs) < 40  # group commit: one fsync covered many appends


def test_a_torn_last_line_is_dropped(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append({"n": 1})
    segment = journal.rotate()
    assert segment is not None
    with segment.path.open("ab") as f:
        f.write(b'{"n": 2')  # the writer died mid-line: never acknowledged
    assert [r["n"] for r in segment.records()] == [1]


def test_a_dead_process_segment_is_replayed_once(tmp_path: Path) -> None:
    code = (
        "import os, sys; from pathlib import Path; from hounsfield.audit.journal import Journal; "
        "j = Journal(Path(sys.argv[1])); j.append({'n': 1}); j.append({'n': 2}); "
        "os.kill(os.getpid(), 9)"
    )
    subprocess.run([sys.executable, "-c", code, str(tmp_path)], check=False)
    journal = Journal(tmp_path)
    orphans = journal.orphans()
    assert [[r["n"] for r in s.records()] for s in orphans] == [[1, 2]]
    assert Journal(tmp_path).orphans() == []  # locked by us while we replay it


def test_our_live_segment_is_not_an_orphan(tmp_path: Path) -> None:
    journal = Journal(tmp_path)
    journal.append({"n": 1})
    assert Journal(tmp_path).orphans() == []


def test_access_events_reach_the_table_and_the_chain() -> None:
    for i in range(3):
        service.record_access("image.retrieve", Anonymous("reader"), resource_id=f"1.2.{i}")
    assert service.flush_buffer() == 3
    assert service.flush_buffer() == 0
    service.seal_all()
    with transaction() as session:
        result = service.verify(session)
    assert result.ok
    assert result.checked == 3


def test_a_segment_already_written_is_not_written_twice() -> None:
    """A crash after the commit but before the file's removal: the replay is a no-op."""
    service.record_access("image.retrieve", Anonymous("reader"), resource_id="1.2.3")
    segment = service.journal().rotate()
    assert segment is not None
    assert service._write_segment(segment) == 1
    segment.close()  # "crash": the file stays, unlocked
    assert service.flush_buffer() == 0
    assert _count("image.retrieve") == 1
    assert not list(service.journal().directory.glob("*.jsonl"))


def test_a_failed_drain_keeps_the_events(monkeypatch: pytest.MonkeyPatch) -> None:
    service.record_access("image.retrieve", Anonymous("reader"), resource_id="1.2.3")

    def database_down(segment: Any) -> int:
        raise ConnectionError("database down")

    monkeypatch.setattr(service, "_write_segment", database_down)
    with pytest.raises(ConnectionError):
        service.flush_buffer()
    monkeypatch.undo()
    assert service.flush_buffer() == 1


# -- a real server, killed -------------------------------------------------------------


def _serve(port: int) -> subprocess.Popen[bytes]:
    # The sealer never drains during the test: every event left is in the journal only.
    return serve(port, {"HOUNSFIELD_AUDIT__SEAL_INTERVAL_S": "3600"})


def test_reads_answered_before_a_kill_are_all_audited_after_restart(make_user: Any) -> None:
    server_port = free_port()
    user = make_user("technician")  # stores and reads
    data = sample_file("CT_small.dcm")
    ds = read_dataset(data)
    url = f"http://127.0.0.1:{server_port}"
    process = _serve(server_port)
    try:
        token = requests.post(
            f"{url}/api/auth/login",
            json={"username": user.username, "password": TEST_PASSWORD},
            timeout=30,
        ).json()["access_token"]
        headers = {"Authorization": f"Bearer {token}"}
        body, content_type = multipart_body([data])
        stored = requests.post(
            f"{url}/dicom-web/studies",
            data=body,
            headers={**headers, "Content-Type": content_type},
            timeout=60,
        )
        assert stored.status_code == 200, stored.text
        path = (
            f"{url}/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
            f"/instances/{ds.SOPInstanceUID}/metadata"
        )
        answered = 0
        for _ in range(50):
            reply = requests.get(
                path, headers={**headers, "Accept": "application/dicom+json"}, timeout=30
            )
            assert reply.status_code == 200, reply.text
            answered += 1
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        assert _count("image.retrieve") == 0  # nothing reached the table before the kill

        process = _serve(server_port)  # start-up replays the dead process's journal
        journal_dir = service.journal().directory
        for _ in range(600):  # wait for the replay (bounded)
            if _count("image.retrieve") >= answered and not list(journal_dir.glob("*.jsonl")):
                break
            time.sleep(0.1)
        assert _count("image.retrieve") == answered == 50
    finally:
        process.kill()
        process.wait(timeout=30)


def test_an_unsynced_line_is_made_durable_by_the_next_synced_append(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    journal = Journal(tmp_path)
    journal.append({"n": 0})  # opens the segment
    real_fsync, fsyncs = os.fsync, []

    def counted_fsync(fd: int) -> None:
        fsyncs.append(fd)
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", counted_fsync)
    journal.append({"n": 1}, sync=False)  # e.g. an association opening
    segment = journal._current
    assert segment is not None
    assert fsyncs == []
    assert (segment.written, segment.synced) == (2, 1)
    journal.append({"n": 2})  # the next access: its fsync covers the line before it
    assert len(fsyncs) == 1
    assert segment.synced == 3
    journal.append({"n": 3}, sync=False)
    rotated = journal.rotate()  # rotation (the drain) syncs what is left
    assert rotated is segment
    assert segment.synced == 4
    assert [r["n"] for r in segment.records()] == [0, 1, 2, 3]


def test_a_segment_being_opened_is_never_taken_for_an_orphan(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process's sealer scanning for orphans between the segment's creation and its
    lock took it (the writer then failed its request); now it cannot see it until locked."""
    from hounsfield.audit import journal as module

    writer, other = Journal(tmp_path), Journal(tmp_path)
    real_flock, claimed = module.fcntl.flock, []

    def scan_then_flock(fd: int, operation: int) -> None:
        if not claimed:  # the worst moment: created, not yet locked
            claimed.append(other.orphans())
        real_flock(fd, operation)

    monkeypatch.setattr(module.fcntl, "flock", scan_then_flock)
    writer.append({"n": 1})
    assert claimed == [[]]
    monkeypatch.setattr(module.fcntl, "flock", real_flock)
    assert other.orphans() == []  # locked by its writer
    segment = writer.rotate()
    assert segment is not None
    assert [r["n"] for r in segment.records()] == [1]
