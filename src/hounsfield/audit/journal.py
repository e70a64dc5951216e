"""A local, fsync'd journal of audit events: durable before a read of patient data is answered.

Each process appends JSON lines to its own segment file and holds an exclusive `flock` on
it. `append` returns once the line is on disk; concurrent callers share one fsync (group
commit: whoever syncs first covers every line written before it). The sealer rotates the
segment, writes its events into the table and deletes the file; a segment left by a
process that died is unlocked, so any process's sealer claims it and replays it.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import threading
import time
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

logger = logging.getLogger(__name__)

SUFFIX = ".jsonl"
OPENING = ".opening"  # a segment being created (empty, not yet locked): not an orphan


class Segment:
    """One journal file, open and locked by this process until it is drained."""

    def __init__(self, path: Path, fd: int) -> None:
        self.path = path
        self.fd = fd
        self.written = 0  # lines written (os.write returned)
        self.synced = 0  # lines known to be on disk
        self.sync_lock = threading.Lock()
        self.opened = time.monotonic()

    @property
    def name(self) -> str:
        return self.path.name

    def sync(self, upto: int) -> None:
        with self.sync_lock:
            if self.synced >= upto:
                return  # another caller's fsync covered this line
            target = self.written
            os.fsync(self.fd)
            self.synced = target

    def records(self) -> Iterator[dict[str, Any]]:
        """The complete lines; a torn last line (never acknowledged) is dropped."""
        with self.path.open("rb") as f:
            for line in f:
                if not line.endswith(b"\n"):
                    logger.warning("audit journal %s: dropping a torn last line", self.name)
                    return
                yield json.loads(line)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)  # releases the flock
            self.fd = -1

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)
        self.close()


def _open_locked(path: Path, flags: int) -> int | None:
    fd = os.open(path, flags, 0o600)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


class Journal:
    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self._lock = threading.Lock()
        self._current: Segment | None = None
        self._pid = os.getpid()

    def _segment(self) -> Segment:
        if self._pid != os.getpid():  # a forked child: the parent's file is not ours
            if self._current is not None:
                self._current.close()  # the parent still holds its lock
            self._current, self._pid = None, os.getpid()
        if self._current is None:
            self.directory.mkdir(parents=True, exist_ok=True, mode=0o700)
            name = f"{time.time_ns()}-{os.getpid()}-{uuid.uuid4().hex[:8]}{SUFFIX}"
            path = self.directory / name
            # Created and locked under a name `orphans` does not look at, then renamed: under
            # its real name it is never unlocked, so another process's sealer cannot take a
            # segment being opened for an orphan (it did: the writer's lock then failed).
            opening = self.directory / f".{name}{OPENING}"
            fd = _open_locked(opening, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_APPEND)
            assert fd is not None  # a new, unique file nobody else knows of
            os.rename(opening, path)
            _fsync_dir(self.directory)  # the file's name is durable too
            self._current = Segment(path, fd)
        return self._current

    def append(self, record: dict[str, Any], *, sync: bool = True) -> None:
        """Write one record; returns when it is on disk.

        `sync=False` returns once the line is written (in the page cache: it survives the
        process, not the machine) and leaves it to the next synced append, rotation or
        drain, whose fsync covers every earlier line of the segment. For events that
        touch no patient data (an association opening): every later access's own event
        makes them durable before that access is answered.
        """
        line = (json.dumps(record, ensure_ascii=False, separators=(",", ":")) + "\n").encode()
        with self._lock:
            segment = self._segment()
            os.write(segment.fd, line)
            segment.written += 1
            mine = segment.written
        if sync:
            segment.sync(mine)

    def age_s(self) -> float:
        """Seconds since the current segment was opened (0 when there is none)."""
        current = self._current
        return 0.0 if current is None else time.monotonic() - current.opened

    def rotate(self) -> Segment | None:
        """Close the current segment to new lines and return it (still locked), if any."""
        with self._lock:
            segment, self._current = self._current, None
        if segment is None or segment.written == 0:
            if segment is not None:
                segment.discard()
            return None
        segment.sync(segment.written)
        return segment

    def orphans(self) -> list[Segment]:
        """Segments no live process holds (their writer died): now locked by us."""
        if not self.directory.is_dir():
            return []
        found = []
        for path in sorted(self.directory.glob(f"*{SUFFIX}")):
            try:
                fd = _open_locked(path, os.O_RDONLY)
            except FileNotFoundError:
                continue  # drained by another process meanwhile
            if fd is None:
                continue
            if os.fstat(fd).st_nlink == 0:  # drained and removed while we waited
                os.close(fd)
                continue
            found.append(Segment(path, fd))
        return found


def _fsync_dir(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
