"""SECURITY D4: a 50-file storescu across a database stop and restart, on a PostgreSQL
cluster of the test's own. Every instance acknowledged with success is stored after
recovery, the others were refused as transient (0xA700), and the same listener process,
never restarted, then takes the refused ones."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import sqlalchemy as sa

from tests.dicom_factory import make_dataset, to_bytes
from tests.dimse.conftest import DCMTK_ENV, free_port, start_listener
from tests.faults.private_postgres import PrivatePostgres

FILES = 50
STOP_AFTER = 10  # responses before the database stops
OUTAGE = 5  # responses while it is down
RESPONSE = re.compile(r"Received Store Response \(([^)]*)\)")
SETUP = """
from hounsfield.migrate import upgrade
from hounsfield.db import transaction
from hounsfield.dimse import devices
from hounsfield.dimse.schemas import DeviceCreate
upgrade()
with transaction(write=True) as session:
    devices.create_device(session, None, DeviceCreate(ae_title="MODALITY", host="127.0.0.1",
                                                      port=104, operations=["store"]))
"""


@pytest.fixture
def postgres() -> Iterator[PrivatePostgres]:
    cluster = PrivatePostgres()
    cluster.create()
    yield cluster
    cluster.destroy()


def _stored(url: str) -> set[str]:
    engine = sa.create_engine(url)
    try:
        with engine.connect() as conn:
            return set(conn.scalars(sa.text("SELECT sop_instance_uid FROM instances")))
    finally:
        engine.dispose()


def _storescu(port: int, files: list[Path]) -> subprocess.Popen[str]:
    return subprocess.Popen(
        ["/usr/bin/storescu", "-v", "--no-halt", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
         "127.0.0.1", str(port), *map(str, files)],
        env=DCMTK_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip


@pytest.mark.slow
@pytest.mark.once
def test_storescu_across_a_database_restart_loses_nothing_acknowledged(
    postgres: PrivatePostgres, tmp_path: Path
) -> None:
    port = free_port()
    env = {**os.environ, "HOUNSFIELD_DATABASE_URL": postgres.url,
           "HOUNSFIELD_DATA_DIR": str(tmp_path / "data"), "HOUNSFIELD_DICOM__PORT": str(port),
           "HOUNSFIELD_DICOM__AE_TITLE": "HOUNSFIELD"}  # fmt: skip
    subprocess.run([sys.executable, "-c", SETUP], env=env, check=True, timeout=300)
    datasets = [make_dataset(seed=n) for n in range(FILES)]
    files = []
    for number, ds in enumerate(datasets):
        files.append(tmp_path / f"{number:02}.dcm")
        files[-1].write_bytes(to_bytes(ds))
    listener = start_listener(env)
    try:
        sender = _storescu(port, files)
        assert sender.stdout is not None
        statuses: list[str] = []
        for line in sender.stdout:  # the database stops and starts between two responses
            if found := RESPONSE.search(line):
                statuses.append(found.group(1))
                if len(statuses) in (STOP_AFTER, STOP_AFTER + OUTAGE):
                    sender.send_signal(signal.SIGSTOP)  # hold the sender while we act
                    postgres.stop() if len(statuses) == STOP_AFTER else postgres.start()
                    sender.send_signal(signal.SIGCONT)
        sender.wait(timeout=300)
        assert len(statuses) == FILES, statuses

        answers = list(zip(datasets, files, statuses, strict=True))
        acknowledged = {ds.SOPInstanceUID for ds, _, status in answers if status == "Success"}
        refused = [path for _, path, status in answers if status != "Success"]
        assert refused, "the outage refused nothing: it did not happen during the transfer"
        assert {s for s in statuses if s != "Success"} == {"Refused: OutOfResources"}  # 0xA700
        assert _stored(postgres.url) == acknowledged  # nothing acknowledged is missing

        again = subprocess.run(
            ["/usr/bin/storescu", "-aet", "MODALITY", "-aec", "HOUNSFIELD", "127.0.0.1",
             str(port), *map(str, refused)],
            env=DCMTK_ENV, capture_output=True, text=True, timeout=300,
        )  # fmt: skip
        assert again.returncode == 0, again.stdout + again.stderr
        assert _stored(postgres.url) == {ds.SOPInstanceUID for ds in datasets}
        assert listener.process.poll() is None  # the same process throughout
    finally:
        listener.process.send_signal(signal.SIGTERM)
        listener.process.wait(timeout=60)
