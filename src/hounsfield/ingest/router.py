"""HTTP: POST /api/uploads (streamed multipart: files, folders, zip) and tus 1.0 uploads.

The multipart body is parsed as it streams in (python-multipart's push parser), each file
going straight to a file on disk, so memory stays flat whatever the size; Starlette's own
form parsing, which spools through memory-limited temp files per field, is not used.
"""

from __future__ import annotations

import shutil
import tempfile
import uuid
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, BinaryIO, Literal

from anyio import to_thread
from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel
from python_multipart.multipart import MultipartParser, parse_options_header
from starlette.requests import ClientDisconnect

from hounsfield.auth.deps import requires
from hounsfield.config import Settings, get_settings
from hounsfield.errors import BadRequest, HounsfieldError, PayloadTooLarge
from hounsfield.ingest import uploads
from hounsfield.ingest.uploads import UnsafeArchive
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/uploads", tags=["uploads"])

Uploader = Annotated[User, requires(Permission.image_create)]
TUS_VERSION = "1.0.0"


class UnsupportedMediaType(HounsfieldError):
    """The request body has an unsupported content type."""

    status_code = 415
    code = "unsupported_media_type"


class TusVersionMismatch(HounsfieldError):
    """Only tus 1.0.0 is supported."""

    status_code = 412
    code = "tus_version_unsupported"

    def __init__(self) -> None:
        super().__init__(headers={"Tus-Version": TUS_VERSION})


class UploadResult(BaseModel):
    filename: str
    status: Literal["stored", "duplicate", "refused"]
    reason: str | None = None
    study_instance_uid: str | None = None
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None


class UploadResponse(BaseModel):
    """Per-file results of one upload."""

    results: list[UploadResult]
    stored: int
    duplicates: int
    refused: int


class TusStatus(UploadResponse):
    offset: int
    length: int
    complete: bool


def _response(results: list[dict[str, Any]]) -> UploadResponse:
    items = [UploadResult.model_validate(r) for r in results]
    return UploadResponse(
        results=items,
        stored=sum(r.status == "stored" for r in items),
        duplicates=sum(r.status == "duplicate" for r in items),
        refused=sum(r.status == "refused" for r in items),
    )


class _FileCollector:
    """python-multipart callbacks: each `files` part to its own file in `workdir`."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.files: list[tuple[Path, str]] = []
        self._header_field = b""
        self._header_value = b""
        self._headers: dict[bytes, bytes] = {}
        self._out: BinaryIO | None = None

    def callbacks(self) -> dict[str, Any]:
        return {
            "on_part_begin": self._begin,
            "on_header_field": self._field,
            "on_header_value": self._value,
            "on_header_end": self._header_end,
            "on_headers_finished": self._headers_done,
            "on_part_data": self._data,
            "on_part_end": self._end,
        }

    def _begin(self) -> None:
        self._headers = {}

    def _field(self, data: bytes, start: int, end: int) -> None:
        self._header_field += data[start:end]

    def _value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]

    def _header_end(self) -> None:
        self._headers[self._header_field.lower()] = self._header_value
        self._header_field = self._header_value = b""

    def _headers_done(self) -> None:
        _, options = parse_options_header(self._headers.get(b"content-disposition", b""))
        if options.get(b"name") == b"files" and b"filename" in options:
            name = options[b"filename"].decode("utf-8", "replace")
            path = self.workdir / uuid.uuid4().hex
            self._out = path.open("wb")
            self.files.append((path, uploads.display_name(name)))

    def _data(self, data: bytes, start: int, end: int) -> None:
        if self._out is not None:
            self._out.write(data[start:end])

    def _end(self) -> None:
        if self._out is not None:
            self._out.close()
            self._out = None

    def close(self) -> None:
        self._end()


def _ingest_all(
    files: list[tuple[Path, str]], user: User, settings: Settings
) -> list[dict[str, Any]]:
    # Check every archive before storing anything: an unsafe zip refuses the request.
    for path, _ in files:
        with path.open("rb") as fp:
            if fp.read(4) in uploads.ZIP_MAGIC:
                uploads.check_zip(path, settings)
    return [asdict(r) for r in uploads.ingest_files(files, user, settings)]


@router.post("")
async def upload_files(request: Request, user: Uploader) -> UploadResponse:
    """Store DICOM files, folders (relative paths as file names) and zip archives.

    multipart/form-data with the field `files` repeated. Returns one result per file or
    zip member; non-DICOM files are reported as refused, the rest is stored.
    """
    settings = get_settings()
    limit = settings.ingest.max_upload_bytes
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLarge(f"uploads are limited to {limit} bytes")
    content_type, options = parse_options_header(request.headers.get("content-type", ""))
    boundary = options.get(b"boundary")
    if content_type != b"multipart/form-data" or not boundary:
        raise UnsupportedMediaType("send multipart/form-data with the field `files`")
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads.uploads_dir(settings)))
    try:
        collector = _FileCollector(workdir)
        parser = MultipartParser(boundary, collector.callbacks())  # type: ignore[arg-type]
        received = 0
        try:
            async for chunk in request.stream():
                received += len(chunk)
                if received > limit:
                    raise PayloadTooLarge(f"uploads are limited to {limit} bytes")
                parser.write(chunk)
            parser.finalize()
        except HounsfieldError:
            raise
        except ClientDisconnect as exc:
            raise BadRequest("the upload was interrupted") from exc
        except Exception as exc:  # python-multipart's parse errors
            raise BadRequest("malformed multipart body") from exc
        finally:
            collector.close()
        if not collector.files:
            raise BadRequest("no files in the field `files`")
        results = await to_thread.run_sync(_ingest_all, collector.files, user, settings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    return _response(results)


# -- tus 1.0 --------------------------------------------------------------------------------


def _tus_headers(**extra: str) -> dict[str, str]:
    return {"Tus-Resumable": TUS_VERSION, **extra}


def _check_version(tus_resumable: str | None) -> None:
    if tus_resumable != TUS_VERSION:
        raise TusVersionMismatch()


@router.options("/tus")
def tus_options(_user: Uploader) -> Response:
    """tus discovery: version, extensions and maximum size."""
    settings = get_settings()
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers=_tus_headers(
            **{
                "Tus-Version": TUS_VERSION,
                "Tus-Extension": "creation,termination",
                "Tus-Max-Size": str(settings.ingest.tus_max_bytes),
            }
        ),
    )


@router.post("/tus", status_code=status.HTTP_201_CREATED)
def tus_create(
    user: Uploader,
    upload_length: Annotated[int, Header(ge=0)],
    tus_resumable: Annotated[str | None, Header()] = None,
    upload_metadata: Annotated[str | None, Header()] = None,
) -> Response:
    """Create a resumable upload (tus creation); `Location` names it."""
    _check_version(tus_resumable)
    metadata = uploads.parse_metadata(upload_metadata)
    upload = uploads.create_upload(
        get_settings(), str(user.id), upload_length, metadata.get("filename", "")
    )
    return Response(
        status_code=status.HTTP_201_CREATED,
        headers=_tus_headers(Location=f"/api/uploads/tus/{upload.id}", **{"Upload-Offset": "0"}),
    )


@router.head("/tus/{upload_id}")
def tus_head(upload_id: str, user: Uploader) -> Response:
    """The offset to resume from."""
    upload, offset = uploads.load_upload(get_settings(), upload_id, str(user.id))
    return Response(
        status_code=status.HTTP_200_OK,
        headers=_tus_headers(
            **{
                "Upload-Offset": str(offset),
                "Upload-Length": str(upload.length),
                "Cache-Control": "no-store",
            }
        ),
    )


@router.patch("/tus/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
async def tus_patch(
    upload_id: str,
    request: Request,
    user: Uploader,
    upload_offset: Annotated[int, Header(ge=0)],
    content_type: Annotated[str | None, Header()] = None,
    tus_resumable: Annotated[str | None, Header()] = None,
) -> Response:
    """Append bytes at `Upload-Offset`; the last byte ingests the file."""
    _check_version(tus_resumable)
    if content_type != "application/offset+octet-stream":
        raise UnsupportedMediaType("PATCH needs Content-Type: application/offset+octet-stream")
    settings = get_settings()
    upload, offset = uploads.load_upload(settings, upload_id, str(user.id))
    received = offset
    with uploads.writing(settings, upload, upload_offset) as out:
        try:
            async for chunk in request.stream():
                if received + len(chunk) > upload.length:
                    raise BadRequest("more bytes than Upload-Length")
                out.write(chunk)
                received += len(chunk)
        except ClientDisconnect:
            pass  # what arrived is kept: the client resumes from HEAD's offset
        if received == upload.length:  # still holding the upload's lock: ingested once
            out.flush()
            await to_thread.run_sync(uploads.finish_upload, settings, upload, user)
    return Response(
        status_code=status.HTTP_204_NO_CONTENT,
        headers=_tus_headers(**{"Upload-Offset": str(received)}),
    )


@router.get("/tus/{upload_id}")
def tus_status(upload_id: str, user: Uploader) -> TusStatus:
    """Progress, and once complete the per-file results."""
    upload, offset = uploads.load_upload(get_settings(), upload_id, str(user.id))
    summary = _response(upload.results)
    return TusStatus(
        offset=offset, length=upload.length, complete=upload.complete, **summary.model_dump()
    )


@router.delete("/tus/{upload_id}", status_code=status.HTTP_204_NO_CONTENT)
def tus_delete(
    upload_id: str, user: Uploader, tus_resumable: Annotated[str | None, Header()] = None
) -> Response:
    """Abandon an upload (tus termination)."""
    _check_version(tus_resumable)
    settings = get_settings()
    upload, _ = uploads.load_upload(settings, upload_id, str(user.id))
    uploads.delete_upload(settings, upload)
    return Response(status_code=status.HTTP_204_NO_CONTENT, headers=_tus_headers())


__all__ = ["UnsafeArchive", "router"]
