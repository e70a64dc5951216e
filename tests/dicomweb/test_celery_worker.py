"""Derived work (aggregates, series metadata, thumbnails) on a real Redis broker and a real
Celery worker process, as in production."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import redis
from fastapi.testclient import TestClient

from hounsfield.db import transaction
from hounsfield.studies import derived
from hounsfield.studies import refs as lookup
from hounsfield.worker import celery, pending_count
from tests.conftest import redis_url
from tests.dicom_factory import make_dataset, to_bytes

# Broker behaviour does not depend on the index database: runs once, in the SQLite pass.
pytestmark = [pytest.mark.redis, pytest.mark.slow, pytest.mark.once]

REDIS_URL = redis_url(11)


@pytest.fixture
def worker(database: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[subprocess.Popen[bytes]]:
    redis.Redis.from_url(REDIS_URL).flushdb()  # CI starts Redis; its absence is a failure
    env = {**os.environ, "HOUNSFIELD_REDIS_URL": REDIS_URL, "HOUNSFIELD_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "hounsfield.worker", "worker", "--pool=solo",
         "--queues=default", "--loglevel=WARNING", "--without-gossip", "--without-mingle",
         "--without-heartbeat"],
        env=env,
    )  # fmt: skip
    monkeypatch.setattr(celery.conf, "broker_url", REDIS_URL)
    try:
        yield process
    finally:
        process.terminate()
        process.wait(timeout=30)
        celery.pool.force_close_all()


def _diagnosis() -> str:
    from sqlalchemy import select

    from hounsfield.worker import OutboxEntry

    with transaction() as session:
        entries = [(e.task_name, e.dispatched_at, e.attempts, e.last_error)
                   for e in session.scalars(select(OutboxEntry))]  # fmt: skip
    keys = redis.Redis.from_url(REDIS_URL).keys()
    from hounsfield.config import get_settings

    files = sorted(str(p) for p in (get_settings().data_dir / "cache").rglob("*"))
    return f"outbox={entries} redis keys={keys} cache={files}"


def wait_for(condition: Callable[[], bool], seconds: float = 60) -> bool:
    """Poll until `condition` holds (bounded); not a timing assertion."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.2)
    return condition()


def test_derived_work_runs_on_a_celery_worker(
    worker: subprocess.Popen[bytes],
    settings_env: Callable[..., None],
    client: TestClient,
    stow: Callable[..., Any],
    data_dir: Path,
) -> None:
    settings_env(HOUNSFIELD_REDIS_URL=REDIS_URL)
    first = make_dataset(InstanceNumber=1)
    second = make_dataset(
        InstanceNumber=2,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    with transaction() as session:
        series = lookup.series_by_uid(session, first.SeriesInstanceUID)
        refs = lookup.instances(session, first.StudyInstanceUID)
    assert series is not None
    document = derived._series_path(series.series_instance_uid, series.metadata_version)
    thumbnail = derived._fanned(
        data_dir / "cache" / "thumbnails",
        derived._digest(refs[0].sop_instance_uid, refs[0].sha256),
        "-128.jpg",
    )
    done = wait_for(lambda: pending_count() == 0 and document.exists())
    assert done, f"worker did not run: {_diagnosis()}"
    assert worker.poll() is None  # the worker process did it, and is still up
    assert thumbnail.exists()
