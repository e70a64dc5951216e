"""The one storage protocol, its error, and the configured backend."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO, Protocol, runtime_checkable

from hounsfield.config import Settings, get_settings
from hounsfield.errors import BadRequest, ServiceUnavailable

__all__ = [
    "InvalidKey",
    "ObjectNotFound",
    "StorageBackend",
    "StorageUnavailable",
    "check_key",
    "get_storage",
    "is_key",
    "reset_storage",
]

# Keys are hex digests fanned out into directories ("ab/cd/abcd…"): never a raw UID or a
# file name, so no input can name a path outside the storage root (SECURITY.md I3).
_KEY = re.compile(r"[0-9a-f]{2}(?:/[0-9a-f]{2})*/[0-9a-f]{16,128}")


class StorageUnavailable(ServiceUnavailable):
    """The object storage is unavailable; try again later."""

    code = "storage_unavailable"

    def __init__(self, message: str = "") -> None:
        super().__init__(message, headers={"Retry-After": "30"})


class InvalidKey(BadRequest):
    """A storage key must be a fanned-out hex digest."""

    code = "invalid_storage_key"


class ObjectNotFound(FileNotFoundError):
    """No object is stored under this key."""


def is_key(key: str) -> bool:
    """Whether `key` has the shape of a storage key."""
    return isinstance(key, str) and _KEY.fullmatch(key) is not None


def check_key(key: str) -> str:
    """Return `key` if it is a fanned-out hex digest, else raise InvalidKey."""
    if not isinstance(key, str) or _KEY.fullmatch(key) is None:
        raise InvalidKey()
    return key


@runtime_checkable
class StorageBackend(Protocol):
    """Where DICOM objects live. Every method raises StorageUnavailable on backend failure."""

    def put(self, key: str, source: Path | BinaryIO, sha256: str) -> None:
        """Store the bytes of `source` (a file path or a readable stream) under `key`.

        Atomic: readers see the old object or the complete new one, never a part.
        `sha256` (hex) is the digest of the bytes; the backend verifies it when it can.
        """
        ...

    def open(self, key: str) -> BinaryIO:
        """A readable, streamable file object of the object (raises ObjectNotFound)."""
        ...

    def delete(self, key: str) -> None:
        """Remove the object; no error if it does not exist."""
        ...

    def exists(self, key: str) -> bool: ...

    def size(self, key: str) -> int:
        """Size in bytes (raises ObjectNotFound)."""
        ...

    def fingerprint(self, key: str) -> str:
        """What changes whenever the object is rewritten: size, mtime, ctime and inode
        (local), size and ETag (S3). Reads compare it with the one recorded at the last
        full SHA-256 check, to skip hashing an unchanged object (raises ObjectNotFound)."""
        ...

    def iter_keys(self) -> Iterator[tuple[str, float]]:
        """Every stored key with its modification time (epoch seconds), for the sweep."""
        ...


_lock = threading.Lock()
_cache: dict[tuple[object, ...], StorageBackend] = {}


def _make(settings: Settings) -> StorageBackend:
    conf = settings.storage
    if conf.backend == "s3":
        from hounsfield.storage.s3 import S3Storage

        return S3Storage.from_settings(conf)
    from hounsfield.storage.local import LocalStorage

    return LocalStorage(conf.local_root or settings.data_dir / "storage")


def get_storage(settings: Settings | None = None) -> StorageBackend:
    """The backend the settings select (one instance per distinct configuration)."""
    settings = settings or get_settings()
    key = (settings.data_dir, settings.storage.model_dump_json())
    with _lock:
        backend = _cache.get(key)
        if backend is None:
            backend = _cache[key] = _make(settings)
        return backend


def reset_storage() -> None:
    """Forget configured backends (tests change settings)."""
    with _lock:
        _cache.clear()
