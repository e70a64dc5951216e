"""Start-up and shutdown: `hounsfield dicom` on its own, the embedded listener in the app."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from hounsfield.db import transaction
from hounsfield.studies.models import Instance
from tests.dicom_factory import write_dicom
from tests.dimse.conftest import DCMTK_ENV, free_port, run, start_listener, wait_for_port


def _count() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Instance)) or 0


def test_embedded_listener_lives_with_the_app(settings_env: Callable[..., None]) -> None:
    port = free_port()
    settings_env(HOUNSFIELD_DICOM__ENABLED="true", HOUNSFIELD_DICOM__PORT=str(port))
    from hounsfield.app import create_app

    with TestClient(create_app()):
        wait_for_port(port)
        echo = run(["/usr/bin/echoscu", "-aet", "ANYONE", "-aec", "HOUNSFIELD",
                    "127.0.0.1", str(port)])  # fmt: skip
        assert echo.returncode == 0, echo.stderr  # unknown AEs may echo/store when embedded
    after = run(["/usr/bin/echoscu", "-aet", "ANYONE", "-aec", "HOUNSFIELD",
                 "127.0.0.1", str(port)])  # fmt: skip
    assert after.returncode != 0  # stopped with the app


def test_sigterm_lets_the_inflight_association_finish(database: str, tmp_path: Path) -> None:
    """SECURITY.md D8: SIGTERM during a 20-file storescu → every file stored and acked.

    Every wait is on an event (the listener's "listening" line, the first store response,
    the processes' exits); the grace period is made irrelevant, so load only slows it.
    """
    port = free_port()
    env = {**os.environ, "HOUNSFIELD_DATABASE_URL": database, "HOUNSFIELD_DICOM__PORT": str(port),
           "HOUNSFIELD_DICOM__SHUTDOWN_GRACE_S": "3600"}  # fmt: skip
    listener = start_listener(env)
    server = listener.process
    try:
        files = [write_dicom(tmp_path, Rows=256, Columns=256, seed=i) for i in range(20)]
        client = subprocess.Popen(
            ["/usr/bin/storescu", "-v", "-ta", "3600", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
             "127.0.0.1", str(port), *map(str, files)],
            env=DCMTK_ENV, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
        )  # fmt: skip
        assert client.stdout is not None
        lines = []
        for line in client.stdout:  # SIGTERM once the first instance is acknowledged
            lines.append(line)
            if "Received Store Response" in line:
                server.send_signal(signal.SIGTERM)
                break
        lines.extend(client.stdout)
        assert client.wait() == 0, "".join(lines)
        assert server.wait() == 0, "".join(listener.lines)
    finally:
        if server.poll() is None:
            server.kill()
    acked = sum("Received Store Response (Success)" in line for line in lines)
    assert acked == 20
    assert _count() == 20
    refused = run(["/usr/bin/echoscu", "-aec", "HOUNSFIELD", "127.0.0.1", str(port)])
    assert refused.returncode != 0  # the listener is gone


def test_several_listener_processes_share_the_port(database: str, tmp_path: Path) -> None:
    """`hounsfield dicom --processes 2`: two processes bound with SO_REUSEPORT, both serve."""
    port = free_port()
    env = {**os.environ, "HOUNSFIELD_DATABASE_URL": database, "HOUNSFIELD_DICOM__PORT": str(port)}
    command = [sys.executable, "-m", "hounsfield.cli", "dicom", "--processes", "2"]
    server = subprocess.Popen(
        command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        wait_for_port(port, server)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:  # readiness: the spawned child binds later
            listening = subprocess.run(["ss", "-Hltn", f"sport = :{port}"],
                                       capture_output=True, text=True).stdout  # fmt: skip
            if len(listening.strip().splitlines()) == 2:
                break
            time.sleep(0.1)
        assert len(listening.strip().splitlines()) == 2
        files = [write_dicom(tmp_path, seed=i) for i in range(6)]
        clients = [
            subprocess.Popen(["/usr/bin/storescu", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                              "127.0.0.1", str(port), str(f)], env=DCMTK_ENV)
            for f in files
        ]  # fmt: skip
        assert [c.wait(timeout=120) for c in clients] == [0] * 6
        assert _count() == 6
    finally:
        server.send_signal(signal.SIGTERM)
        assert server.wait(timeout=60) == 0
    gone = subprocess.run(["ss", "-Hltn", f"sport = :{port}"], capture_output=True, text=True)
    assert gone.stdout.strip() == ""  # the child stopped with the parent
