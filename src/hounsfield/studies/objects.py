"""Reading stored objects, never serving bytes that fail their SHA-256 (SECURITY D2).

An object unchanged since its last full check (its storage fingerprint matches the one the
index recorded then) is read without hashing; any other is hashed first. Small objects are
read once and checked before a byte is sent; recent ones are kept in a bounded in-process
cache (keyed by storage key and SHA-256). Large ones are checked in a first pass and then
streamed while hashing again; if the object changed in between, the stream is aborted (the
client sees a broken multipart body, never wrong pixels). `scrub` re-checks every object.
"""

from __future__ import annotations

import hashlib
import io
import logging
import struct
import threading
import warnings
from collections import OrderedDict
from collections.abc import Iterator
from dataclasses import dataclass
from typing import BinaryIO

from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)
from sqlalchemy import update

from hounsfield.config import get_settings
from hounsfield.db import transaction, utcnow
from hounsfield.errors import HounsfieldError
from hounsfield.storage import get_storage
from hounsfield.storage.backend import ObjectNotFound
from hounsfield.studies.cache import ByteCache
from hounsfield.studies.refs import InstanceRef

__all__ = [
    "CorruptObject",
    "MissingObject",
    "PixelLayout",
    "check",
    "dataset",
    "pixel_layout",
    "read_frame",
    "read_verified",
    "scrub",
    "stream_verified",
    "verified_header",
]

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
    _flag(ref)
    return CorruptObject(details={"sop_instance_uid": ref.sop_instance_uid})


# -- verification markers ---------------------------------------------------------------------
#
# A full SHA-256 pass is made when the object was written (ingest), after any change the
# storage's fingerprint shows (size/mtime/inode, or the S3 ETag), and by the scheduled scrub
# (`scrub`), which also finds in-place corruption that kept the fingerprint. The index keeps
# the fingerprint of the last good check (`Instance.verified_fingerprint`); a read whose
# fingerprint matches skips the hash. A failed check clears it and sets `corrupt_at`, so the
# object is hashed (and refused) on every later read until a check finds it good again.


class _Verified:
    """Fingerprints of objects this process checked in full (the index may lag)."""

    def __init__(self, max_items: int = 4096) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[str, str], str] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> str | None:
        with self._lock:
            return self._items.get(key)

    def put(self, key: tuple[str, str], fingerprint: str | None) -> None:
        with self._lock:
            if fingerprint is None:
                self._items.pop(key, None)
                return
            self._items[key] = fingerprint
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)


_verified = _Verified()


def fingerprint(ref: InstanceRef) -> str:
    try:
        return get_storage().fingerprint(ref.storage_key)
    except ObjectNotFound as exc:
        logger.error("object missing from storage: key %s", ref.storage_key)
        raise MissingObject() from exc


def _trusted(ref: InstanceRef, current: str) -> bool:
    """Whether the object is unchanged since a full check found it good."""
    if current == ref.verified_fingerprint:
        return True
    # Checked by this process since the index row was read; never after the scrub flagged it.
    return not ref.corrupt and _verified.get((ref.storage_key, ref.sha256)) == current


def _record(ref: InstanceRef, current: str) -> None:
    """Note a good full check: in this process, and in the index for every process."""
    from hounsfield.studies.models import Instance

    _verified.put((ref.storage_key, ref.sha256), current)
    if current == ref.verified_fingerprint and not ref.corrupt:
        return
    try:
        with transaction(write=True) as session:
            session.execute(
                update(Instance)
                .where(Instance.storage_key == ref.storage_key, Instance.sha256 == ref.sha256)
                .values(verified_fingerprint=current, corrupt_at=None)
            )
    except Exception as exc:  # the read is good; the next one checks again
        logger.warning("verification marker not recorded: %s", type(exc).__name__)


def _flag(ref: InstanceRef) -> None:
    """A check failed: no read trusts this object until a check finds it good again."""
    from hounsfield.studies.models import Instance

    _verified.put((ref.storage_key, ref.sha256), None)
    try:
        with transaction(write=True) as session:
            session.execute(
                update(Instance)
                .where(Instance.storage_key == ref.storage_key, Instance.sha256 == ref.sha256)
                .values(verified_fingerprint=None, corrupt_at=utcnow())
            )
    except Exception as exc:  # reads still hash it: its marker did not match
        logger.warning("corrupt object not flagged in the index: %s", type(exc).__name__)


def check(ref: InstanceRef) -> None:
    """Make sure the stored object is good, hashing it only when it may have changed.

    Raises CorruptObject (and flags the object) when its SHA-256 does not match.
    """
    current = fingerprint(ref)
    if _trusted(ref, current):
        return
    _verify_pass(ref)
    _record(ref, current)


def scrub(ref: InstanceRef) -> bool:
    """Re-check the object in full whatever its marker (the scheduled re-verification).

    Finds what a fingerprint cannot see (a byte flipped in place, mtime kept): the object
    is flagged and refused from then on. Returns whether it is good.
    """
    try:
        current = fingerprint(ref)
        _verify_pass(ref)
    except (CorruptObject, MissingObject):
        if not ref.corrupt:
            _flag(ref)
        return False
    _record(ref, current)
    return True


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
    """The object's bytes, known good (raises CorruptObject): hashed unless unchanged
    since its last full check.

    `cache_it=False` for one-off reads (derived data, exports) that should not displace
    what viewers are reading.
    """
    current = fingerprint(ref)
    trusted = _trusted(ref, current)
    cache = _object_cache() if cache_it else None
    key = (ref.storage_key, ref.sha256)
    if trusted and cache is not None and (cached := cache.get(key)) is not None:
        return cached
    with _open(ref) as fp:
        data = fp.read()
    if not trusted:
        if hashlib.sha256(data).hexdigest() != ref.sha256:
            raise _corrupt(ref)
        _record(ref, current)
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
    current = fingerprint(ref)
    trusted = _trusted(ref, current)
    if not trusted:
        _verify_pass(ref)
        _record(ref, current)
    digest = hashlib.sha256()
    with _open(ref) as fp:
        while chunk := fp.read(CHUNK):
            if not trusted:
                digest.update(chunk)
            yield chunk
    if not trusted and digest.hexdigest() != ref.sha256:  # changed between the passes
        raise _corrupt(ref)


def dataset(
    ref: InstanceRef, *, stop_before_pixels: bool = False, cache_it: bool = True
) -> Dataset:
    """The verified object, parsed."""
    data = read_verified(ref, cache_it=cache_it)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return dcmread(io.BytesIO(data), stop_before_pixels=stop_before_pixels, force=True)


# -- bounded reads: header and frames by offset ---------------------------------------------
#
# Integrity: a layout (and the header it comes from) is only made after the object was
# checked (`check`: a streaming SHA-256 pass over 1 MiB chunks, constant memory, unless
# the object is unchanged since its last full check). Frame reads seek into the object and
# read just the frame's bytes, after the same fingerprint comparison.

_ITEM = 0xFFFEE000
_SEQ_END = 0xFFFEE0DD
_PIXEL_DATA = 0x7FE00010
_UNDEFINED = 0xFFFFFFFF


@dataclass(frozen=True)
class PixelLayout:
    """Where the frames of a verified object lie in storage (absolute byte offsets).

    `frames[i]` is the list of (offset, length) spans whose concatenation is frame i+1:
    one span per frame for native pixel data, its fragments for encapsulated data.
    """

    transfer_syntax: str
    vr: str
    encapsulated: bool
    frames: tuple[tuple[tuple[int, int], ...], ...]


class _LayoutCache:
    """A small LRU of layouts of verified objects, keyed by (storage key, SHA-256)."""

    def __init__(self, max_items: int = 256) -> None:
        self.max_items = max_items
        self._items: OrderedDict[tuple[str, str], PixelLayout | None] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[str, str]) -> tuple[bool, PixelLayout | None]:
        with self._lock:
            if key not in self._items:
                return False, None
            self._items.move_to_end(key)
            return True, self._items[key]

    def put(self, key: tuple[str, str], value: PixelLayout | None) -> None:
        with self._lock:
            self._items[key] = value
            self._items.move_to_end(key)
            while len(self._items) > self.max_items:
                self._items.popitem(last=False)


layouts = _LayoutCache()
_verifying: dict[tuple[str, str], threading.Lock] = {}
_verifying_lock = threading.Lock()


class _Reader:
    def __init__(self, fp: BinaryIO, little: bool) -> None:
        self.fp = fp
        self.order = "<" if little else ">"

    def exact(self, n: int) -> bytes:
        data = self.fp.read(n)
        if len(data) != n:
            raise ValueError("truncated")
        return data

    def tag_length(self) -> tuple[int, int]:
        group, element, length = struct.unpack(f"{self.order}HHL", self.exact(8))
        return (group << 16) | element, length


def _frame_pixels(header: Dataset) -> int:
    return int(header.Rows) * int(header.Columns) * int(header.get("SamplesPerPixel", 1) or 1)


def _native_frame_size(header: Dataset) -> int:
    return (_frame_pixels(header) * int(header.BitsAllocated) + 7) // 8


def _frames_of(header: Dataset) -> int:
    try:
        return max(1, int(header.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def _layout_at(fp: BinaryIO, header: Dataset) -> PixelLayout | None:
    """Parse the Pixel Data element at the file position (just after the header)."""
    meta = getattr(header, "file_meta", None)
    syntax = UID(str(getattr(meta, "TransferSyntaxUID", "") or ""))
    if not syntax or syntax == DeflatedExplicitVRLittleEndian or not syntax.is_transfer_syntax:
        return None
    little = syntax != ExplicitVRBigEndian
    implicit = syntax == ImplicitVRLittleEndian
    rd = _Reader(fp, little)
    group, element = struct.unpack(f"{rd.order}HH", rd.exact(4))
    if (group << 16) | element != _PIXEL_DATA:
        return None
    if implicit:
        vr = "OW" if int(header.get("BitsAllocated", 16) or 16) > 8 else "OB"
        (length,) = struct.unpack(f"{rd.order}L", rd.exact(4))
    else:
        vr = rd.exact(2).decode("ascii", "replace")
        rd.exact(2)
        (length,) = struct.unpack(f"{rd.order}L", rd.exact(4))
    start = fp.tell()
    frames = _frames_of(header)
    if length != _UNDEFINED:
        if syntax.is_compressed:
            return None
        size = _native_frame_size(header)
        if int(header.BitsAllocated) == 1 and _frame_pixels(header) % 8:
            return None  # 1-bit frames that are not byte-aligned
        if str(header.get("PhotometricInterpretation", "")).strip() == "YBR_FULL_422":
            return None  # subsampled native frames: the whole-object path decodes them
        if size <= 0 or size * frames > length:
            return None
        if not little and size % 2:
            return None  # big-endian OW words straddle the frames: the whole-object path
        spans = tuple(((start + i * size, size),) for i in range(frames))
        return PixelLayout(str(syntax), vr, False, spans)
    # Encapsulated (PS3.5 A.4): Basic Offset Table item, then fragments, then a delimiter.
    tag, bot_length = rd.tag_length()
    if tag != _ITEM:
        return None
    bot = rd.exact(bot_length) if bot_length else b""
    first_item = fp.tell()
    fragments: list[tuple[int, int, int]] = []  # (item offset rel. to first item, value, len)
    while True:
        tag, frag_length = rd.tag_length()
        if tag == _SEQ_END:
            break
        if tag != _ITEM or frag_length == _UNDEFINED:
            return None
        value = fp.tell()
        fragments.append((value - 8 - first_item, value, frag_length))
        fp.seek(frag_length, io.SEEK_CUR)
    if not fragments:
        return None
    if frames == 1:
        groups = [fragments]
    else:
        starts = _frame_starts(header, bot, rd.order, frames)
        if starts is None:
            if len(fragments) != frames:
                return None  # would need scanning the codestreams: whole-object path
            starts = [rel for rel, _v, _l in fragments]  # one fragment per frame
        index = {rel: i for i, (rel, _v, _l) in enumerate(fragments)}
        if any(s not in index for s in starts):
            return None
        bounds = [index[s] for s in starts] + [len(fragments)]
        groups = [fragments[bounds[i] : bounds[i + 1]] for i in range(frames)]
        if any(not g for g in groups):
            return None
    fragment_spans = tuple(tuple((v, n) for _r, v, n in g) for g in groups)
    return PixelLayout(str(syntax), vr, True, fragment_spans)


def _frame_starts(header: Dataset, bot: bytes, order: str, frames: int) -> list[int] | None:
    """Each frame's first item offset (relative to the first fragment item), or None."""
    eot = header.get("ExtendedOffsetTable")
    if eot is not None and eot.value:
        starts = list(struct.unpack(f"<{len(eot.value) // 8}Q", eot.value))
    elif bot:
        starts = list(struct.unpack(f"{order}{len(bot) // 4}L", bot))
    else:
        return None
    if len(starts) != frames:
        return None
    return starts


def _read_layout(fp: BinaryIO) -> tuple[Dataset, PixelLayout | None]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header = dcmread(fp, stop_before_pixels=True, force=True)
    try:
        layout = _layout_at(fp, header)
    except (ValueError, TypeError, AttributeError, KeyError, struct.error, OSError):
        layout = None  # an unusual header: the whole-object path copes
    return header, layout


def verified_header(
    ref: InstanceRef, *, cache_it: bool = True
) -> tuple[Dataset, PixelLayout | None]:
    """The object's header (no pixel data) and its frame layout, reading bounded memory.

    The object is checked first (:func:`check`: a chunked SHA-256 pass unless unchanged
    since its last full check; CorruptObject if it fails), then the header is parsed from
    storage up to the Pixel Data element, whose items are walked by their headers only.
    The layout is cached for :func:`pixel_layout` unless `cache_it=False`.
    """
    check(ref)
    with _open(ref) as fp:
        header, layout = _read_layout(fp)
    if cache_it:
        layouts.put((ref.storage_key, ref.sha256), layout)
    return header, layout


def pixel_layout(ref: InstanceRef) -> PixelLayout | None:
    """The frame layout of a good object (None: use the whole-object path).

    Every call checks the object (a fingerprint comparison when unchanged), so frames are
    never read from an object that changed or that the scrub found corrupt.
    """
    key = (ref.storage_key, ref.sha256)
    if _trusted(ref, fingerprint(ref)):
        found, layout = layouts.get(key)
        if found:
            return layout
    # One verification per object at a time: the viewer asks for ~20 frames at once.
    with _verifying_lock:
        lock = _verifying.setdefault(key, threading.Lock())
    try:
        with lock:
            if _trusted(ref, fingerprint(ref)):
                found, layout = layouts.get(key)
                if found:
                    return layout
            return verified_header(ref)[1]
    finally:
        with _verifying_lock:
            if _verifying.get(key) is lock and not lock.locked():
                del _verifying[key]


def read_frame(ref: InstanceRef, layout: PixelLayout, number: int) -> bytes:
    """Frame `number` (1-based) as stored: its bytes (native) or its fragments joined."""
    spans = layout.frames[number - 1]
    parts = []
    with _open(ref) as fp:
        for offset, length in spans:
            fp.seek(offset)
            data = fp.read(length)
            if len(data) != length:
                raise _corrupt(ref)
            parts.append(data)
    return parts[0] if len(parts) == 1 else b"".join(parts)
