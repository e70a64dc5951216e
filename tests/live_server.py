"""The app under uvicorn in its own process, on the test database and data directory."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def serve(
    port: int, env: dict[str, str] | None = None, *, cli: bool = False, **popen: Any
) -> subprocess.Popen[bytes]:
    """Start it and wait until it answers /healthz (bounded; the caller stops it).

    `cli`: as `hounsfield serve` runs it, with the project's logging configuration."""
    import requests

    command = (
        ["-m", "hounsfield.cli", "serve", "--host", "127.0.0.1", "--port", str(port)]
        if cli
        else ["-m", "uvicorn", "hounsfield.app:create_app", "--factory",
              "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"]
    )  # fmt: skip
    process = subprocess.Popen(
        [sys.executable, *command],
        env={**os.environ, "HOUNSFIELD_LOG_LEVEL": "WARNING", **(env or {})},
        **popen,
    )  # fmt: skip
    for _ in range(600):
        if process.poll() is not None:
            raise RuntimeError("uvicorn exited")
        try:
            requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
            return process
        except requests.RequestException:  # refused, or slow on a loaded machine
            time.sleep(0.1)
    process.kill()
    raise RuntimeError("uvicorn did not start")


def stop(process: subprocess.Popen[bytes]) -> None:
    process.terminate()
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait(timeout=30)
