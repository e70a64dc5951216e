"""Reading stored objects for DICOMweb, never serving bytes that fail their SHA-256.

Small objects are read once and checked before a byte is sent; the verified bytes of recent
objects are kept in a bounded in-process cache (keyed by storage key and SHA-256). Large ones
are checked in a first pass and then streamed while hashing again; if the object changed in
between, the stream is aborted (the client sees a broken multipart body, never wrong pixels).
"""

from __future__ import annotations

import hashlib
import io
import logging
import threading
import warnings
from collections.abc import Iterator

from pydicom import dcmread
from pydicom.dataset import Dataset

from hounsfield.config import get_settings
from hounsfield.dicomweb.cache import ByteCache
from hounsfield.dicomweb.service import InstanceRef
from hounsfield.errors import HounsfieldError
from hounsfield.storage import get_storage
from hounsfield.storage.backend import ObjectNotFound

__all__ = ["CorruptObject", "MissingObject", "dataset", "read_verified", "stream_verified"]

logger = logging.getLogger(__name__)

CHUNK = 1 << 20


class CorruptObject(HounsfieldError):
    """A stored object does not match its checksum; it is not served."""

    status_code = 500
    code = "object_corrupt"


class MissingObject(HounsfieldError):
    """A stored object is missing from storage."""

    status_code = 500
    code = "object_missing"


def _open(ref: InstanceRef) -> io.BufferedReader:
    try:
        return get_storage().open(ref.storage_key)  # type: ignore[return-value]
    except ObjectNotFound as exc:
        logger.error("object missing from storage: key %s", ref.storage_key)
        raise MissingObject() from exc


def _corrupt(ref: InstanceRef) -> CorruptObject:
    logger.error("object fails its SHA-256: key %s", ref.storage_key)
    return CorruptObject(details={"sop_instance_uid": ref.sop_instance_uid})


_cache_lock = threading.Lock()
_cache: ByteCache | None = None


def _object_cache() -> ByteCache | None:
    """Recently read, verified objects (frames of one multi-frame object, a series re-read)."""
    global _cache
    size = get_settings().dicomweb.object_cache_mb * 1024 * 1024
    with _cache_lock:
        if _cache is None or _cache.max_bytes != size:
            _cache = ByteCache(size, max_item=size // 2) if size else None
        return _cache


def read_verified(ref: InstanceRef, *, cache_it: bool = True) -> bytes:
    """The object's bytes, checked against the index's SHA-256 (raises CorruptObject).

    `cache_it=False` for one-off reads (derived data, exports) that should not displace
    what viewers are reading.
    """
    cache = _object_cache() if cache_it else None
    key = (ref.storage_key, ref.sha256)
    if cache is not None and (cached := cache.get(key)) is not None:
        return cached
    with _open(ref) as fp:
        data = fp.read()
    if hashlib.sha256(data).hexdigest() != ref.sha256:
        raise _corrupt(ref)
    if cache is not None:
        cache.put(key, data)
    return data


def _verify_pass(ref: InstanceRef) -> None:
    digest = hashlib.sha256()
    with _open(ref) as fp:
        while chunk := fp.read(CHUNK):
            digest.update(chunk)
    if digest.hexdigest() != ref.sha256:
        raise _corrupt(ref)


def stream_verified(ref: InstanceRef) -> Iterator[bytes]:
    """Yield the object in chunks; nothing is yielded before the object is known good."""
    if ref.size <= get_settings().dicomweb.verify_in_memory_bytes:
        yield read_verified(ref)
        return
    _verify_pass(ref)
    digest = hashlib.sha256()
    with _open(ref) as fp:
        while chunk := fp.read(CHUNK):
            digest.update(chunk)
            yield chunk
    if digest.hexdigest() != ref.sha256:  # changed between the passes: abort the response
        raise _corrupt(ref)


def dataset(
    ref: InstanceRef, *, stop_before_pixels: bool = False, cache_it: bool = True
) -> Dataset:
    """The verified object, parsed."""
    data = read_verified(ref, cache_it=cache_it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data), stop_before_pixels=stop_before_pixels, force=True)
