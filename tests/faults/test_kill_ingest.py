"""SECURITY D1: a SIGKILL at each step of an ingest loses nothing acknowledged, leaves no
row without its object, and the sweeper removes what the dead process left behind."""

from __future__ import annotations

import hashlib
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.ingest.maintenance import sweep_orphan_objects, sweep_temporary_files
from hounsfield.ingest.service import ingest
from hounsfield.storage import get_storage
from hounsfield.studies.models import Instance
from tests.dicom_factory import make_dataset, to_bytes
from tests.faults.crash_ingest import STEPS

REPO = Path(__file__).resolve().parents[2]
FILES = 3
KILLED = 2  # the second file dies; the first was acknowledged, the third never started


def _run_until_killed(step: str, files: list[Path]) -> list[str]:
    """The acknowledged SOP Instance UIDs of a child that SIGKILLed itself at `step`."""
    child = subprocess.run(
        [sys.executable, "-m", "tests.faults.crash_ingest", step, str(KILLED), *map(str, files)],
        cwd=REPO, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert child.returncode == -signal.SIGKILL, child.stderr
    assert "END" not in child.stdout
    return [line.split()[1] for line in child.stdout.splitlines() if line.startswith("ACK ")]


def _rows() -> dict[str, tuple[str, int, str]]:
    with transaction() as session:
        found = session.execute(
            select(Instance.sop_instance_uid, Instance.storage_key, Instance.size,
                   Instance.sha256)
        ).all()  # fmt: skip
    return {uid: (key, size, sha) for uid, key, size, sha in found}


def _stored_bytes(key: str) -> bytes:
    with get_storage().open(key) as source:
        return source.read()


def _leftovers(data_dir: Path) -> list[Path]:
    """Temporary files of the dead ingest: spool files and unrenamed object files."""
    return [*data_dir.glob("spool/ingest-*"), *data_dir.glob("storage/**/.tmp-*")]


@pytest.mark.slow
@pytest.mark.parametrize("step", STEPS)
def test_a_kill_at_each_ingest_step_loses_nothing_acknowledged(step: str, tmp_path: Path) -> None:
    sources = [to_bytes(make_dataset(seed=n)) for n in range(FILES)]
    files = []
    for number, data in enumerate(sources):
        files.append(tmp_path / f"{number}.dcm")
        files[-1].write_bytes(data)
    uids = [make_uid(data) for data in sources]

    acknowledged = _run_until_killed(step, files)

    assert acknowledged == uids[: KILLED - 1]
    rows = _rows()
    assert set(acknowledged) <= set(rows)  # nothing acknowledged is missing
    # the killed instance has a row only if the kill came after its commit
    assert (uids[KILLED - 1] in rows) == (step == "committed")
    for key, size, sha256 in rows.values():  # every row's object is whole
        data = _stored_bytes(key)
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha256)

    settings = get_settings()
    storage = get_storage(settings)
    sweep_orphan_objects(storage, grace_s=0)
    sweep_temporary_files(settings, grace_s=0)
    assert sorted(k for k, _ in storage.iter_keys()) == sorted(k for k, _, _ in rows.values())
    assert _leftovers(settings.data_dir) == []

    # the sender, never acknowledged, sends again: stored (or already there), whole
    resent = ingest(sources[KILLED - 1], origin="test:resend")
    assert resent.status == ("duplicate" if step == "committed" else "stored")
    key, size, sha256 = _rows()[uids[KILLED - 1]]
    assert hashlib.sha256(_stored_bytes(key)).hexdigest() == sha256


def make_uid(data: bytes) -> str:
    from io import BytesIO

    from pydicom import dcmread

    return str(dcmread(BytesIO(data), stop_before_pixels=True).SOPInstanceUID)
