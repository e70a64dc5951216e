"""SECURITY D5 and D7 with real processes: a private redis-server (broker, revocation,
rate limits), the real Celery worker and `hounsfield` under uvicorn, on the test database.

D5: Redis dies while studies arrive → storing and reading go on; Redis returns → the
outbox drains and every series gets its thumbnail, without restarting anything else.
D7: the worker is `kill -9`ed in the middle of a task → the message, acknowledged late,
is delivered again to the next worker, which does the work once.
"""

from __future__ import annotations

import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import func, select

from hounsfield.db import transaction
from hounsfield.studies.models import Instance, Series
from hounsfield.worker import OutboxEntry
from tests.conftest import TEST_PASSWORD
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body
from tests.live_server import free_port, serve, stop

REPO = Path(__file__).resolve().parents[2]
SAFETY_S = 120  # a hung test fails after this; the waits end on their event


class Redis:
    """A redis-server of our own on a fixed port, to kill and start again."""

    def __init__(self) -> None:
        self.port = free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        self.process: subprocess.Popen[str] | None = None

    def start(self) -> None:
        self.process = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no"],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert self.process.stdout is not None
        for line in self.process.stdout:  # wait for the event, not for a time
            if "Ready to accept connections" in line:
                return
        raise RuntimeError("redis-server exited")

    def kill(self) -> None:
        if self.process is not None:
            self.process.kill()
            self.process.wait(timeout=30)
            self.process = None


@pytest.fixture
def redis() -> Iterator[Redis]:
    server = Redis()
    server.start()
    yield server
    server.kill()


@pytest.fixture
def env(redis: Redis, tmp_path: Path) -> dict[str, str]:
    """The environment of every process: this Redis, short redelivery, own data dir."""
    return {
        "HOUNSFIELD_REDIS_URL": redis.url,
        "HOUNSFIELD_DATA_DIR": str(tmp_path / "data"),
        "HOUNSFIELD_WORKER__VISIBILITY_TIMEOUT_S": "3",
        "HOUNSFIELD_WORKER__CLAIM_TIMEOUT_S": "3",
        "HOUNSFIELD_WORKER__REQUEUE_INTERVAL_S": "1",
    }


@pytest.fixture
def workers(env: dict[str, str], tmp_path: Path) -> Iterator[Callable[..., Any]]:
    """workers(kill_once=False) → a started Celery worker process (stopped after the test)."""
    started: list[subprocess.Popen[bytes]] = []
    runs, marker = tmp_path / "runs.txt", tmp_path / "killed"

    def start(*, kill_once: bool = False) -> subprocess.Popen[bytes]:
        if not kill_once:
            marker.touch()
        process = subprocess.Popen(
            [sys.executable, "-m", "tests.faults.crash_worker", str(runs), str(marker)],
            cwd=REPO, env=_child_env(env), stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        started.append(process)
        return process

    start.runs = runs  # type: ignore[attr-defined]
    yield start
    for process in started:
        process.kill()
        process.wait(timeout=30)


def _child_env(env: dict[str, str]) -> dict[str, str]:
    import os

    return {**os.environ, "HOUNSFIELD_LOG_LEVEL": "WARNING", **env}


@pytest.fixture
def server(env: dict[str, str]) -> Iterator[str]:
    port = free_port()
    process = serve(port, env, cwd=REPO)
    yield f"http://127.0.0.1:{port}"
    stop(process)


def _token(base: str, username: str) -> dict[str, str]:
    response = requests.post(f"{base}/api/auth/login", timeout=30,
                             json={"username": username, "password": TEST_PASSWORD})  # fmt: skip
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


def _stow(base: str, headers: dict[str, str], data: bytes) -> int:
    body, content_type = multipart_body([data])
    response = requests.post(
        f"{base}/dicom-web/studies", data=body, timeout=60,
        headers={**headers, "Content-Type": content_type, "Accept": "application/dicom+json"},
    )  # fmt: skip
    return response.status_code


def _wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + SAFETY_S
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.2)


def _pending() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(OutboxEntry)) or 0


def _thumbnails(env: dict[str, str]) -> int:
    return len(list(Path(env["HOUNSFIELD_DATA_DIR"]).glob("cache/thumbnails/**/*.jpg")))


@pytest.mark.slow
@pytest.mark.once
@pytest.mark.redis
def test_redis_dies_while_studies_arrive_reads_go_on_and_the_outbox_drains(
    redis: Redis, env: dict[str, str], workers: Callable[..., Any], server: str,
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    workers()
    headers = _token(server, make_user("technician").username)
    datasets = [make_dataset(seed=n) for n in range(6)]  # one series each
    for ds in datasets[:3]:
        assert _stow(server, headers, to_bytes(ds)) == 200

    redis.kill()
    for ds in datasets[3:]:  # stored while the broker is gone: the work waits in the outbox
        assert _stow(server, headers, to_bytes(ds)) == 200
    for ds in datasets:
        url = (f"{server}/dicom-web/studies/{ds.StudyInstanceUID}/series/"
               f"{ds.SeriesInstanceUID}/instances/{ds.SOPInstanceUID}")  # fmt: skip
        read = requests.get(url, headers={**headers, "Accept": "application/dicom"}, timeout=60)
        assert read.status_code == 200
    assert _pending() > 0

    redis.start()  # same port, empty: what was queued in it is gone too
    _wait_for(lambda: _pending() == 0, "the outbox to drain")
    with transaction() as session:
        instances = session.scalar(select(func.count()).select_from(Instance))
        series = session.scalar(select(func.count()).select_from(Series))
    assert instances == series == len(datasets)
    assert _thumbnails(env) == len(datasets)


@pytest.mark.slow
@pytest.mark.once
@pytest.mark.redis
def test_a_worker_killed_mid_task_gets_the_task_again_and_does_it_once(
    env: dict[str, str], workers: Callable[..., Any], make_user: Callable[..., Any],
) -> None:  # fmt: skip
    env["HOUNSFIELD_WORKER__REQUEUE_INTERVAL_S"] = "3600"  # only the broker may send it again
    port = free_port()
    process = serve(port, env, cwd=REPO)
    try:
        base = f"http://127.0.0.1:{port}"
        first = workers(kill_once=True)
        ds = make_dataset()
        assert _stow(base, _token(base, make_user("technician").username), to_bytes(ds)) == 200
        assert first.wait(timeout=SAFETY_S) == -9  # killed inside refresh_series
        assert _pending() == 1

        workers()  # the next worker: the unacknowledged message comes back to it
        _wait_for(lambda: _pending() == 0, "the redelivered task to finish")
    finally:
        stop(process)
    runs = workers.runs.read_text().split()  # type: ignore[attr-defined]
    assert runs == [ds.SeriesInstanceUID] * 2  # killed once, done once
    assert _thumbnails(env) == 1
    with transaction() as session:
        series = session.scalars(select(Series)).one()
    assert series.number_of_instances == 1
