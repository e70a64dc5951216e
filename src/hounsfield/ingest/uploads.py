"""Browser uploads: files, zip archives and resumable (tus 1.0) uploads, all ingested here.

Uploaded bytes only ever land in files with generated names under `<data_dir>/uploads`;
a client's file name (a folder's relative path, a zip member name) is reported back,
never used as a path (SECURITY.md I3, I7).
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import contextvars
import fcntl
import json
import logging
import os
import re
import shutil
import stat
import tempfile
import time
import uuid
import zipfile
from collections.abc import Iterator
from concurrent.futures import Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from pathlib import Path, PurePosixPath
from typing import Any, BinaryIO, Literal

from hounsfield.audit.service import Actor
from hounsfield.config import Settings
from hounsfield.errors import BadRequest, Conflict, NotFound, PayloadTooLarge, TooManyRequests
from hounsfield.ingest.service import ingest
from hounsfield.studies.service import transfer

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
RATIO_FLOOR = 1 << 20  # below this much inflated data no ratio can cost anything
INGEST_THREADS = 4
ZIP_MAGIC = (b"PK\x03\x04", b"PK\x05\x06")
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_TUS_ID = re.compile(r"[0-9a-f]{32}")


class UnsafeArchive(BadRequest):
    """The zip archive is unsafe (path traversal, links, or a decompression bomb)."""

    code = "unsafe_archive"


class UploadNotFound(NotFound):
    """No such upload."""

    code = "upload_not_found"


class OffsetMismatch(Conflict):
    """Upload-Offset does not match the bytes received so far."""

    code = "upload_offset_mismatch"


class UploadQuotaExceeded(TooManyRequests):
    """Too many unfinished uploads, or too many bytes declared by them: finish or cancel one."""

    code = "upload_quota_exceeded"


class UploadBusy(Conflict):
    """Another request is writing to this upload."""

    code = "upload_busy"


@dataclass
class FileResult:
    """What happened to one uploaded file (or zip member)."""

    filename: str
    status: Literal["stored", "duplicate", "refused"]
    reason: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None


def uploads_dir(settings: Settings) -> Path:
    path = settings.data_dir / "uploads"
    if not path.is_dir():
        path.mkdir(parents=True, exist_ok=True)
    return path


def display_name(name: str | None) -> str:
    """A client-given file name as safe text to report back (never used as a path)."""
    return _CONTROL.sub("", name or "")[:255] or "(unnamed)"


def is_zip(path: Path) -> bool:
    with path.open("rb") as fp:
        return fp.read(4) in ZIP_MAGIC


def ingest_files(
    files: list[tuple[Path, str]], actor: Actor | None, settings: Settings
) -> list[FileResult]:
    """Ingest uploaded files (DICOM instances or zip archives), results in order.

    Several files are prepared at once (hashing, parsing and the fsync'ed object write
    run outside the index transaction), so an upload of many files keeps the disk busy
    while SQLite serializes only the short index updates.
    """
    results: list[FileResult] = []
    with transfer(), ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="upload-ingest") as pool:
        pending: list[Future[FileResult]] = []
        for path, name in files:
            if is_zip(path):
                results.extend(f.result() for f in pending)
                pending = []
                results.extend(ingest_zip(path, name, actor, settings, pool))
            else:
                run = contextvars.copy_context().run  # the series refreshes wait for the end
                pending.append(pool.submit(run, _ingest_one, path, name, actor, settings))
        results.extend(f.result() for f in pending)
    return results


def ingest_file(
    path: Path, filename: str, actor: Actor | None, settings: Settings
) -> list[FileResult]:
    """Ingest one uploaded file: a DICOM instance, or a zip archive of them."""
    return ingest_files([(path, filename)], actor, settings)


def _ingest_one(source: Path, filename: str, actor: Actor | None, settings: Settings) -> FileResult:
    outcome = ingest(source, origin="upload", actor=actor, settings=settings)
    if not outcome.ok:
        return FileResult(filename, "refused", outcome.message("en"))
    return FileResult(
        filename,
        "stored" if outcome.status == "stored" else "duplicate",
        outcome.warning,
        outcome.study_instance_uid,
        outcome.series_instance_uid,
        outcome.sop_instance_uid,
    )


def _member_problem(info: zipfile.ZipInfo) -> str | None:
    """Why a member must not be extracted at all (zip-slip, links), or None."""
    name = info.filename.replace("\\", "/")
    path = PurePosixPath(name)
    if name.startswith("/") or re.match(r"^[A-Za-z]:", name):
        return "absolute path"
    if ".." in path.parts:
        return "path traversal (..)"
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "symbolic link"
    return None


def check_zip(path: Path, settings: Settings) -> list[zipfile.ZipInfo]:
    """The archive's file members, after refusing a slip, link or bomb archive as a whole."""
    conf = settings.ingest
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError, ValueError) as exc:
        raise UnsafeArchive("not a readable zip archive") from exc
    if len(members) > conf.zip_max_entries:
        raise UnsafeArchive(f"more than {conf.zip_max_entries} entries")
    for info in members:
        problem = _member_problem(info)
        if problem:
            raise UnsafeArchive(f"unsafe member ({problem})")
    files = [m for m in members if not m.is_dir()]
    total = sum(m.file_size for m in files)
    if total > conf.zip_max_total_bytes:
        raise UnsafeArchive("inflates beyond the allowed total size")
    # The ratio is checked at every size (issue 14.11: 60 MiB of zeros in a 65 KiB zip
    # took 88 s), archive-wide and per member; declared sizes are enforced while inflating.
    ratio = conf.max_inflate_ratio
    if total > max(RATIO_FLOOR, path.stat().st_size * ratio) or any(
        m.file_size > max(RATIO_FLOOR, m.compress_size * ratio) for m in files
    ):
        raise UnsafeArchive("compression ratio too high (decompression bomb)")
    return files


def ingest_zip(
    path: Path,
    filename: str,
    actor: Actor | None,
    settings: Settings,
    pool: ThreadPoolExecutor | None = None,
) -> list[FileResult]:
    """Ingest every DICOM member; other members are reported as refused and skipped."""
    if pool is None:
        with ThreadPoolExecutor(INGEST_THREADS, thread_name_prefix="upload-ingest") as own:
            return ingest_zip(path, filename, actor, settings, own)
    files = check_zip(path, settings)
    results: list[FileResult | Future[FileResult]] = []
    in_flight: list[Future[FileResult]] = []
    budget = settings.ingest.zip_max_total_bytes
    workdir = Path(tempfile.mkdtemp(prefix="zip-", dir=uploads_dir(settings)))
    try:
        with zipfile.ZipFile(path) as archive:
            for info in files:
                name = f"{filename}/{display_name(info.filename)}"
                if PurePosixPath(info.filename).name.startswith("._"):
                    results.append(FileResult(name, "refused", "resource fork, not DICOM"))
                    continue
                target = workdir / uuid.uuid4().hex
                try:
                    budget -= _extract(archive, info, target, budget)
                except _TooLarge as exc:
                    raise UnsafeArchive("inflates beyond its declared or allowed size") from exc
                except (zipfile.BadZipFile, OSError, ValueError, NotImplementedError):
                    results.append(FileResult(name, "refused", "unreadable archive member"))
                    continue
                if is_zip(target):
                    target.unlink()
                    results.append(FileResult(name, "refused", "nested archives are not accepted"))
                    continue
                run = contextvars.copy_context().run
                future = pool.submit(run, _ingest_member, target, name, actor, settings)
                results.append(future)
                in_flight.append(future)
                if len(in_flight) >= 2 * INGEST_THREADS:  # bound the extracted files on disk
                    in_flight.pop(0).result()
        return [r.result() if isinstance(r, Future) else r for r in results]
    finally:
        for future in in_flight:
            future.cancel()
        wait(in_flight)
        shutil.rmtree(workdir, ignore_errors=True)


def _ingest_member(target: Path, name: str, actor: Actor | None, settings: Settings) -> FileResult:
    try:
        return _ingest_one(target, name, actor, settings)
    finally:
        target.unlink(missing_ok=True)


class _TooLarge(Exception):
    pass


def _extract(archive: zipfile.ZipFile, info: zipfile.ZipInfo, target: Path, budget: int) -> int:
    """Inflate one member, counting real bytes against its declared size and the budget."""
    limit = min(info.file_size, budget)
    written = 0
    with archive.open(info) as src, target.open("wb") as out:
        while chunk := src.read(CHUNK):
            written += len(chunk)
            if written > limit:
                raise _TooLarge()
            out.write(chunk)
    return written


# -- tus 1.0 (core + creation + termination) ------------------------------------------------


@dataclass
class TusUpload:
    """State of one resumable upload, kept next to its data file."""

    id: str
    length: int
    filename: str
    owner: str
    created: float
    updated: float
    complete: bool = False
    results: list[dict[str, Any]] = field(default_factory=list)


def parse_metadata(header: str | None) -> dict[str, str]:
    """Upload-Metadata: comma-separated `key base64value` pairs (tus 1.0 creation)."""
    metadata: dict[str, str] = {}
    for pair in (header or "").split(","):
        parts = pair.strip().split(" ")
        if not parts[0]:
            continue
        if len(parts) > 2:
            raise BadRequest("malformed Upload-Metadata")
        value = ""
        if len(parts) == 2:
            try:
                value = base64.b64decode(parts[1], validate=True).decode("utf-8", "replace")
            except (binascii.Error, ValueError) as exc:
                raise BadRequest("malformed Upload-Metadata") from exc
        metadata[parts[0]] = value
    return metadata


def _paths(settings: Settings, upload_id: str) -> tuple[Path, Path]:
    if not _TUS_ID.fullmatch(upload_id):
        raise UploadNotFound()
    base = uploads_dir(settings)
    return base / upload_id, base / f"{upload_id}.json"


def _save(meta_path: Path, upload: TusUpload) -> None:
    tmp = meta_path.with_suffix(".json.tmp")
    tmp.write_text(json.dumps(asdict(upload)))
    os.replace(tmp, meta_path)


def create_upload(settings: Settings, owner: str, length: int, filename: str) -> TusUpload:
    """Register a new resumable upload of `length` bytes."""
    if length > settings.ingest.tus_max_bytes:
        raise PayloadTooLarge(f"uploads are limited to {settings.ingest.tus_max_bytes} bytes")
    purge_stale_uploads(settings)
    with _quota_lock(settings):  # two creations at once must not both fit the last slot
        _check_quota(settings, owner, length)
        now = time.time()
        upload = TusUpload(uuid.uuid4().hex, length, display_name(filename), owner, now, now)
        data_path, meta_path = _paths(settings, upload.id)
        data_path.touch()
        _save(meta_path, upload)
    return upload


@contextlib.contextmanager
def _quota_lock(settings: Settings) -> Iterator[None]:
    with (uploads_dir(settings) / ".quota.lock").open("a") as lock:
        fcntl.flock(lock.fileno(), fcntl.LOCK_EX)  # across the API's processes too
        yield


def _check_quota(settings: Settings, owner: str, length: int) -> None:
    """Refuse an upload beyond the owner's count or declared-bytes quota (issue 14.17:
    300 uploads each declaring 16 GiB were created)."""
    conf = settings.ingest
    count, declared = 0, 0
    for meta_path in uploads_dir(settings).glob("*.json"):
        if not _TUS_ID.fullmatch(meta_path.stem):
            continue
        try:
            meta = json.loads(meta_path.read_text())
        except (OSError, ValueError):
            continue
        if meta.get("owner") == owner and not meta.get("complete"):
            count += 1
            declared += int(meta.get("length", 0))
    if count >= conf.tus_max_uploads_per_user:
        raise UploadQuotaExceeded(
            f"at most {conf.tus_max_uploads_per_user} unfinished uploads per user",
            details={"limit": conf.tus_max_uploads_per_user},
        )
    if declared + length > conf.tus_max_outstanding_bytes_per_user:
        raise UploadQuotaExceeded(
            f"unfinished uploads may declare at most "
            f"{conf.tus_max_outstanding_bytes_per_user} bytes per user",
            details={"limit": conf.tus_max_outstanding_bytes_per_user, "declared": declared},
        )


def load_upload(settings: Settings, upload_id: str, owner: str) -> tuple[TusUpload, int]:
    """The upload and its current offset; only its owner may see it."""
    data_path, meta_path = _paths(settings, upload_id)
    try:
        upload = TusUpload(**json.loads(meta_path.read_text()))
    except (FileNotFoundError, ValueError, TypeError) as exc:
        raise UploadNotFound() from exc
    if upload.owner != owner:
        raise UploadNotFound()
    offset = upload.length if upload.complete else _size(data_path)
    return upload, offset


def _size(path: Path) -> int:
    try:
        return path.stat().st_size
    except FileNotFoundError:
        return 0


@contextlib.contextmanager
def writing(settings: Settings, upload: TusUpload, offset: int) -> Iterator[BinaryIO]:
    """Append to the upload's data file at `offset`, exclusively (409 if busy or misplaced)."""
    data_path, meta_path = _paths(settings, upload.id)
    with data_path.open("ab") as out:
        try:
            fcntl.flock(out.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError as exc:
            raise UploadBusy() from exc
        if upload.complete or out.tell() != offset:
            raise OffsetMismatch(details={"offset": out.tell()})
        try:
            yield out
        finally:
            out.flush()
            os.fsync(out.fileno())
            upload.updated = time.time()
            _save(meta_path, upload)


def finish_upload(settings: Settings, upload: TusUpload, actor: Actor | None) -> None:
    """Ingest a complete upload and keep only its results."""
    data_path, meta_path = _paths(settings, upload.id)
    try:
        results = ingest_file(data_path, upload.filename, actor, settings)
    except UnsafeArchive as exc:
        results = [FileResult(upload.filename, "refused", str(exc))]
    upload.results = [asdict(r) for r in results]
    upload.complete = True
    upload.updated = time.time()
    _save(meta_path, upload)
    data_path.unlink(missing_ok=True)


def delete_upload(settings: Settings, upload: TusUpload) -> None:
    data_path, meta_path = _paths(settings, upload.id)
    data_path.unlink(missing_ok=True)
    meta_path.unlink(missing_ok=True)


def purge_stale_uploads(settings: Settings, now: float | None = None) -> int:
    """Remove resumable uploads idle for longer than the setting's hours. Returns how many."""
    cutoff = (now or time.time()) - settings.ingest.tus_expire_hours * 3600
    removed = 0
    for meta_path in uploads_dir(settings).glob("*.json"):
        upload_id = meta_path.stem
        if not _TUS_ID.fullmatch(upload_id):
            continue
        try:
            updated = float(json.loads(meta_path.read_text()).get("updated", 0))
        except (OSError, ValueError):
            updated = 0.0
        if updated < cutoff:
            (meta_path.parent / upload_id).unlink(missing_ok=True)
            meta_path.unlink(missing_ok=True)
            removed += 1
    return removed
