"""The shared metrics directory keeps the sample files of running processes only."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from hounsfield.config import get_settings
from hounsfield.monitoring import multiproc

pytestmark = pytest.mark.nodb


def test_sample_files_of_ended_processes_are_dropped(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    ended = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    dead_pid = int(ended.stdout)
    running = subprocess.Popen(
        [sys.executable, "-c", "import sys; sys.stdin.read()"], stdin=subprocess.PIPE
    )
    try:
        for pid in (dead_pid, running.pid):
            (tmp_path / f"counter_{pid}.db").write_bytes(b"")
        (tmp_path / "notes.db").write_bytes(b"")  # not a sample file: left alone
        monkeypatch.setenv(multiproc.ENV, str(tmp_path))

        assert multiproc.share_across_processes(get_settings()) == tmp_path

        left = sorted(p.name for p in tmp_path.iterdir())
        assert left == sorted([f"counter_{running.pid}.db", "notes.db"])
    finally:
        running.communicate(b"")
