"""DIMSE fixtures: free ports, real dcmtk peers, a running Hounsfield listener."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

DCMTK_ENV = {**os.environ, "TCP_NODELAY": "1"}


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, process: subprocess.Popen[bytes] | None = None) -> None:
    """Readiness, not timing: poll until the port accepts (or the process died)."""
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        if process is not None and process.poll() is not None:
            raise RuntimeError(f"peer exited with {process.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.5):
                return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"port {port} never opened")


@dataclass
class ListenerProcess:
    """`hounsfield dicom` in a child process, known to be serving; its log lines kept."""

    process: subprocess.Popen[str]
    lines: list[str]
    done: threading.Event  # set when its output ends (the process exited)


def start_listener(
    env: dict[str, str], *args: str, prefix: list[str] | None = None
) -> ListenerProcess:
    """Start `hounsfield dicom` and return once it logs that it listens (an event, not a
    deadline: a loaded machine only makes this slower). Its output is drained meanwhile,
    so the child can never block on a full pipe."""
    process = subprocess.Popen(
        [*(prefix or []), sys.executable, "-m", "hounsfield.cli", "dicom", *args],
        env={**env, "HOUNSFIELD_LOG_JSON": "false"},
        stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
    )  # fmt: skip
    lines: list[str] = []
    ready, done = threading.Event(), threading.Event()

    def drain() -> None:
        assert process.stdout is not None
        for line in process.stdout:
            lines.append(line)
            if "DICOM listener" in line and " on " in line:
                ready.set()
        done.set()
        ready.set()  # exited before listening: the caller sees it

    threading.Thread(target=drain, daemon=True).start()
    ready.wait()
    if done.is_set():
        raise RuntimeError("listener exited before listening:\n" + "".join(lines))
    return ListenerProcess(process, lines, done)


def run(args: list[str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run a dcmtk tool with Nagle off (BENCHMARKING.md), capturing its output."""
    return subprocess.run(
        args, env=DCMTK_ENV, capture_output=True, text=True, timeout=timeout, check=False
    )


@dataclass
class StoreSCP:
    ae_title: str
    port: int
    directory: Path

    def files(self) -> list[Path]:
        return sorted(p for p in self.directory.rglob("*") if p.is_file())


@pytest.fixture
def storescp(tmp_path: Path) -> Iterator[StoreSCP]:
    """A real dcmtk storescp (AE STORESCP) on a free port, writing into a temp dir."""
    port = free_port()
    directory = tmp_path / "storescp"
    directory.mkdir()
    process = subprocess.Popen(
        ["/usr/bin/storescp", "-aet", "STORESCP", "-od", str(directory), "+B", str(port)],
        env=DCMTK_ENV,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_for_port(port, process)
        yield StoreSCP("STORESCP", port, directory)
    finally:
        process.terminate()
        process.wait(timeout=10)


@pytest.fixture
def listener(settings_env: Callable[..., None]) -> Iterator[Any]:
    """Our DICOM listener (AE HOUNSFIELD) on a free port, in this process."""
    from hounsfield.config import get_settings
    from hounsfield.dimse.scp import DicomListener

    settings_env(HOUNSFIELD_DICOM__PORT=str(free_port()), HOUNSFIELD_DICOM__AE_TITLE="HOUNSFIELD")
    server = DicomListener(get_settings())
    server.start()
    try:
        yield server
    finally:
        server.stop(grace_s=5)


@pytest.fixture
def register() -> Callable[..., Any]:
    """register("CT1", port=..., operations=[...]) → a Device row (id, ae_title)."""
    from hounsfield.db import transaction
    from hounsfield.dimse import devices
    from hounsfield.dimse.schemas import DeviceCreate

    def make(ae_title: str, *, port: int = 104, host: str = "127.0.0.1", **fields: Any) -> Any:
        data = DeviceCreate(ae_title=ae_title, host=host, port=port, **fields)
        with transaction(write=True) as session:
            return devices.create_device(session, None, data)

    return make
