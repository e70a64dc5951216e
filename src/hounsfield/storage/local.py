"""Local-filesystem storage: temp file + fsync + rename + directory fsync."""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from hounsfield.storage.backend import ObjectNotFound, StorageUnavailable, check_key, is_key

CHUNK = 1 << 20


class LocalStorage:
    """Objects as files under `root` (default `<data_dir>/storage`), one per key."""

    def __init__(self, root: Path) -> None:
        self.root = Path(root).resolve()

    def _path(self, key: str) -> Path:
        return self.root / check_key(key)

    def put(self, key: str, source: Path | BinaryIO, sha256: str) -> None:
        target = self._path(key)
        try:
            if not target.parent.is_dir():  # a stat is far cheaper than mkdir on most files
                target.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=target.parent)
            tmp = Path(tmp_name)
            try:
                digest = hashlib.sha256()
                with os.fdopen(fd, "wb") as out:
                    if isinstance(source, Path):
                        with source.open("rb") as src:
                            _copy(src, out, digest)
                    else:
                        _copy(source, out, digest)
                    out.flush()
                    os.fsync(out.fileno())
                if digest.hexdigest() != sha256:
                    raise StorageUnavailable("the stored bytes do not match their checksum")
                os.replace(tmp, target)
            except BaseException:
                tmp.unlink(missing_ok=True)
                raise
            _fsync_dir(target.parent)
        except StorageUnavailable:
            raise
        except OSError as exc:
            raise StorageUnavailable(f"local storage write failed ({exc.strerror})") from exc

    def open(self, key: str) -> BinaryIO:
        try:
            return self._path(key).open("rb")
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        except OSError as exc:
            raise StorageUnavailable(f"local storage read failed ({exc.strerror})") from exc

    def delete(self, key: str) -> None:
        path = self._path(key)
        try:
            path.unlink(missing_ok=True)
        except OSError as exc:
            raise StorageUnavailable(f"local storage delete failed ({exc.strerror})") from exc
        with contextlib.suppress(OSError):
            _fsync_dir(path.parent)

    def exists(self, key: str) -> bool:
        return self._path(key).is_file()

    def size(self, key: str) -> int:
        try:
            return self._path(key).stat().st_size
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc

    def fingerprint(self, key: str) -> str:
        try:
            st = self._path(key).stat()
        except FileNotFoundError as exc:
            raise ObjectNotFound(key) from exc
        # ctime too: restoring an mtime (utime) sets it, so only changes below the file
        # system (bit rot, raw device writes) keep the fingerprint: the scrub finds those.
        return f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}:{st.st_ino}"

    def iter_keys(self) -> Iterator[tuple[str, float]]:
        if not self.root.is_dir():
            return
        for directory, _dirs, files in os.walk(self.root):
            for name in files:
                path = Path(directory) / name
                key = path.relative_to(self.root).as_posix()
                if is_key(key):
                    with contextlib.suppress(FileNotFoundError):
                        yield key, path.stat().st_mtime

    def temporary_files(self) -> Iterator[Path]:
        """Files a writer killed before its rename left behind (`put`'s `.tmp-*`)."""
        if self.root.is_dir():
            yield from self.root.glob("**/.tmp-*")

    def free_bytes(self) -> int:
        """Free space of the filesystem holding the root (for health checks)."""
        self.root.mkdir(parents=True, exist_ok=True)
        return shutil.disk_usage(self.root).free


def _copy(src: BinaryIO, out: BinaryIO, digest: hashlib._Hash) -> None:
    while chunk := src.read(CHUNK):
        digest.update(chunk)
        out.write(chunk)


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
