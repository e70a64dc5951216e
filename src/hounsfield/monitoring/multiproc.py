"""Metrics summed over every process of a host (prometheus_client's multiprocess mode).

`hounsfield serve` runs several API processes, each with its own DICOM listener and task
pool in embedded mode; `hounsfield dicom` and `hounsfield worker` are processes of their
own. Counted per process, `/metrics` would answer with whichever process Prometheus
reached: counts that jump between scrapes, and nothing at all of the listener or the
workers. In multiprocess mode each process keeps its samples in a file under one
directory, and `/metrics` sums the files.

The directory must be chosen before prometheus_client is first imported (it picks its
value store then), so the commands call `share_across_processes` first thing; the
processes they spawn inherit the environment variable.
"""

from __future__ import annotations

import contextlib
import os
import re
from pathlib import Path

import psutil

from hounsfield.config import Settings

ENV = "PROMETHEUS_MULTIPROC_DIR"
_SAMPLE_FILE = re.compile(r"_(\d+)\.db$")  # counter_1234.db, histogram_1234.db


def share_across_processes(settings: Settings) -> Path:
    """Point every process of this command at `<data_dir>/metrics` (unless already set),
    and drop the sample files of processes that no longer run (a restart starts the
    counters again, which Prometheus' rate() expects)."""
    directory = Path(os.environ.get(ENV) or settings.data_dir / "metrics")
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    os.environ[ENV] = str(directory)
    for path in directory.glob("*.db"):
        match = _SAMPLE_FILE.search(path.name)
        if match and not psutil.pid_exists(int(match.group(1))):
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
    return directory


def shared() -> bool:
    return bool(os.environ.get(ENV))
