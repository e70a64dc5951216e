"""HTTP: POST /api/uploads (streamed multipart: files, folders, zip) and tus 1.0 uploads.

The multipart body is parsed as it streams in (python-multipart's push parser), each file
going straight to a file on disk, so memory stays flat whatever the size; Starlette's own
form parsing, which spools through memory-limited temp files per field, is not used.
"""

from __future__ import annotations

import shutil
import tempfile
from dataclasses import asdict
from pathlib import Path
from typing import Annotated, Any, Literal

from anyio import to_thread
from fastapi import APIRouter, Header, Request, Response, status
from pydantic import BaseModel
from python_multipart.multipart import parse_options_header
from starlette.requests import ClientDisconnect

from hounsfield.auth.deps import requires
from hounsfield.config import Settings, get_settings
from hounsfield.db import transaction
from hounsfield.dicomweb.multipart import (
    SpooledPart,
    TooManyParts,
    UnsupportedMediaType,
    spool_multipart,
)
from hounsfield.errors import BadRequest, HounsfieldError, PayloadTooLarge
from hounsfield.ingest import uploads
from hounsfield.ingest.uploads import UnsafeArchive
from hounsfield.notifications import service as notifications
from hounsfield.notifications.service import Kind
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/uploads", tags=["uploads"])

Uploader = Annotated[User, requires(Permission.image_create)]
TUS_VERSION = "1.0.0"


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


def _is_file(headers: dict[str, str]) -> bool:
    """A part of the field `files` that carries a file name."""
    _, options = parse_options_header(_raw(headers.get("content-disposition", "")))
    return options.get(b"name") == b"files" and b"filename" in options


def _filename(part: SpooledPart) -> str:
    _, options = parse_options_header(_raw(part.headers.get("content-disposition", "")))
    return uploads.display_name(options.get(b"filename", b"").decode("utf-8", "replace"))


def _raw(header: str) -> bytes:
    return header.encode("latin-1", "replace")  # the bytes as sent (read as latin-1)


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
    workdir = Path(tempfile.mkdtemp(prefix="upload-", dir=uploads.uploads_dir(settings)))
    try:
        try:
            parts = await spool_multipart(
                request.stream(),
                request.headers.get("content-type", ""),
                workdir,
                max_total_bytes=limit,
                max_part_bytes=limit,
                max_parts=settings.ingest.upload_max_parts,
                media_type="multipart/form-data",
                keep=_is_file,
            )
        except UnsupportedMediaType as exc:
            raise UnsupportedMediaType("send multipart/form-data with the field `files`") from exc
        except TooManyParts:
            raise
        except PayloadTooLarge as exc:
            raise PayloadTooLarge(f"uploads are limited to {limit} bytes") from exc
        files = [(part.path, _filename(part)) for part in parts]
        if not files:
            raise BadRequest("no files in the field `files`")
        results = await to_thread.run_sync(_ingest_all, files, user, settings)
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
    response = _response(results)
    await to_thread.run_sync(_notify_finished, user, response, settings)
    return response


def _notify_finished(user: User, response: UploadResponse, settings: Settings) -> None:
    """Tell the uploader (bell, and the channels they chose) what became of the upload."""
    counts = {"stored": response.stored, "duplicates": response.duplicates,
              "refused": response.refused}  # fmt: skip
    with transaction(write=True) as session:
        notifications.emit(session, settings, Kind.upload_finished, recipients=[user.id],
                           params=counts, link="/studies")  # fmt: skip


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
