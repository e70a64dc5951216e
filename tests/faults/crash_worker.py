"""A child process for the worker kill test: the real Celery worker, killed once mid-task.

    python -m tests.faults.crash_worker <runs-file> <kill-marker>

Runs `hounsfield.worker`'s Celery app (solo pool: the task runs in this process). Each
start of a series' derived work (inside `studies.refresh_series`, after its aggregates
commit) appends a line to <runs-file>; the first one, while <kill-marker> does not
exist, creates it and SIGKILLs the worker: a crash in the middle of a task, with its
message received but not acknowledged. The wrap exists in this process only.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path


def main() -> None:
    runs, marker = map(Path, sys.argv[1:3])
    from hounsfield.studies import derived
    from hounsfield.worker import celery

    build = derived.build_series_derived

    def build_or_die(series_uid: str) -> None:
        with runs.open("a") as log:
            log.write(series_uid + "\n")
        if not marker.exists():
            marker.touch()
            os.kill(os.getpid(), signal.SIGKILL)
        build(series_uid)

    derived.build_series_derived = build_or_die
    celery.worker_main(
        ["worker", "--pool=solo", "--loglevel=INFO", "--without-gossip", "--without-mingle",
         "--without-heartbeat", "-n", f"fault-{os.getpid()}@localhost"]
    )  # fmt: skip


if __name__ == "__main__":
    main()
