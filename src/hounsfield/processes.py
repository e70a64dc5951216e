"""What the processes of one embedded server agree on: which one of them leads.

`hounsfield serve` starts several API processes over one data directory. Most work is safe
in every process (outbox rows are claimed atomically, the audit chain has its own lock),
but periodic maintenance must be queued by one process only: the one holding an exclusive
lock on `<data_dir>/leader.lock`. The kernel drops the lock when that process dies, and the
process uvicorn starts in its place takes it.
"""

from __future__ import annotations

import fcntl
import os
import threading

from hounsfield.config import get_settings

_lock = threading.Lock()
_fd: int | None = None


def leads() -> bool:
    """Whether this process leads (taking the lock if it is free); never blocks."""
    global _fd
    with _lock:
        if _fd is not None:
            return True
        path = get_settings().data_dir / "leader.lock"
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            return False
        _fd = fd
        return True


def resign() -> None:
    """Give the lead up (at shutdown, so that a successor need not wait for the exit)."""
    global _fd
    with _lock:
        fd, _fd = _fd, None
    if fd is not None:
        os.close(fd)
