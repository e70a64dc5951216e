"""A child process for the kill tests: ingest files, SIGKILL itself at one step of the Nth.

    python -m tests.faults.crash_ingest <step> <n> <file>...

Prints `ACK <sop-instance-uid>` for each instance once `ingest` says it is stored (the
acknowledgement an edge would send), then dies by SIGKILL when the n-th file (1-based)
reaches `step`. The steps wrap the real functions in this process only: the production
code has no hook and pays nothing for these tests.

- spooled:   the bytes are in the spool file, nothing parsed or written;
- written:   the object's temporary file is written and fsync'd, not yet renamed;
- renamed:   the object is in place under its key, the index transaction not committed;
- committed: the index rows are committed, the acknowledgement not yet sent.
"""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.orm import Session

STEPS = ("spooled", "written", "renamed", "committed")


def _say(line: str) -> None:
    """One line on stdout, flushed: the parent reads what was acknowledged before the kill."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def _die() -> None:
    sys.stdout.flush()
    os.kill(os.getpid(), signal.SIGKILL)


def _arm(step: str, armed: list[bool]) -> None:
    """Install the kill at `step`; it fires only while armed[0] is True."""
    from hounsfield.ingest import service
    from hounsfield.storage import local

    if step == "spooled":
        parse = service.parse_instance

        def parse_then_die(*args: Any, **kwargs: Any) -> Any:
            if armed[0]:
                _die()
            return parse(*args, **kwargs)

        service.parse_instance = parse_then_die  # type: ignore[assignment]
    elif step == "written":
        replace = os.replace

        def die_before_rename(src: Any, dst: Any, *args: Any, **kwargs: Any) -> None:
            if armed[0] and Path(src).name.startswith(".tmp-"):
                _die()
            replace(src, dst, *args, **kwargs)

        local.os.replace = die_before_rename  # type: ignore[attr-defined]
    elif step == "renamed":
        fsync_dir = local._fsync_dir

        def fsync_then_die(path: Path) -> None:
            fsync_dir(path)
            if armed[0]:
                _die()

        local._fsync_dir = fsync_then_die
    elif step == "committed":

        @event.listens_for(Session, "after_commit")
        def die_after_commit(session: Session) -> None:
            if armed[0] and session.info.get("wrote_instance"):
                _die()

        from hounsfield.ingest import hooks

        @hooks.on_indexed
        def note_instance(session: Session, event: hooks.Stored) -> None:
            session.info["wrote_instance"] = True  # this transaction stores the instance
    else:
        raise SystemExit(f"unknown step {step}")


def main() -> None:
    step, nth, *files = sys.argv[1:]
    armed = [False]
    _arm(step, armed)
    from hounsfield.ingest.service import ingest

    for number, name in enumerate(files, start=1):
        armed[0] = number == int(nth)
        outcome = ingest(Path(name).read_bytes(), origin="test:crash")
        if outcome.status == "stored":
            _say(f"ACK {outcome.sop_instance_uid}")
    _say("END")


if __name__ == "__main__":
    main()
