"""STOW-RS (PS3.18 §10.5): spool the parts, ingest each, answer with a Store Instances
Response Module (ReferencedSOPSequence / FailedSOPSequence)."""

from __future__ import annotations

import contextlib
import contextvars
import io
import logging
import threading
import warnings
import zlib
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import Request
from pydicom import filereader
from pydicom.uid import DeflatedExplicitVRLittleEndian, ExplicitVRBigEndian, ImplicitVRLittleEndian

from hounsfield.config import get_settings
from hounsfield.dicom.json_model import resource_path
from hounsfield.dicom.parse import PREAMBLE_LENGTH, Note, looks_like_bare_dataset
from hounsfield.dicomweb.multipart import (
    SpooledPart,
    UnsupportedMediaType,
    parse_media_type,
    spool_directory,
    spool_multipart,
)
from hounsfield.errors import BadRequest, PayloadTooLarge, ServiceUnavailable
from hounsfield.ingest.outcome import STATUS_CODES, Language, Outcome
from hounsfield.ingest.service import ingest
from hounsfield.studies.service import transfer
from hounsfield.users.models import User

__all__ = [
    "PayloadTooLarge",
    "check_content_type",
    "receive",
    "slot",
    "spool_directory",
    "store_parts",
]

logger = logging.getLogger(__name__)

PARALLEL_PARTS = 4
OUT_OF_RESOURCES = STATUS_CODES["unavailable"][1]
MAX_WARNINGS = 10  # distinct texts in the Warning header
HEADER_BYTES = 64 * 1024  # what a refused part's UIDs are looked for in (a bomb stays shut)
_UID_TAGS = [0x00080016, 0x00080018, 0x0020000D]  # SOP Class, SOP Instance, Study


class TooManyStores(ServiceUnavailable):
    """Too many STOW-RS requests are being received; try again shortly."""

    code = "stow_busy"


_slots: dict[int, threading.BoundedSemaphore] = {}
_slots_lock = threading.Lock()


@contextlib.contextmanager
def slot() -> Iterator[None]:
    """Hold one of the process's STOW-RS slots for the request (SECURITY L2), or 503."""
    limit = get_settings().dicomweb.stow_max_concurrent
    with _slots_lock:
        semaphore = _slots.setdefault(limit, threading.BoundedSemaphore(limit))
    if not semaphore.acquire(blocking=False):
        raise TooManyStores(headers={"Retry-After": "5"})
    try:
        yield
    finally:
        semaphore.release()


def check_content_type(value: str) -> None:
    """Raise 415 unless the body is ``multipart/related; type="application/dicom"``."""
    media = parse_media_type(value)
    part_type = media.params.get("type", "application/dicom").lower()
    if media.type != "multipart/related" or part_type != "application/dicom":
        raise UnsupportedMediaType(
            'STOW-RS accepts multipart/related; type="application/dicom" bodies.'
        )
    if not media.params.get("boundary"):
        raise UnsupportedMediaType("The multipart body has no boundary.")


async def receive(request: Request, directory: Path) -> list[SpooledPart]:
    """Spool the request's parts into `directory` (constant memory)."""
    conf = get_settings().dicomweb
    parts = await spool_multipart(
        request.stream(),
        request.headers.get("content-type", ""),
        directory,
        max_total_bytes=conf.stow_max_bytes,
        max_part_bytes=conf.stow_max_part_bytes,
        max_parts=conf.stow_max_parts,  # 20,000 one-byte parts took 50 s (issue 14.11)
    )
    if not parts:
        raise BadRequest("The request holds no instances.")
    return parts


def _header_uids(path: Path) -> tuple[str, str, str]:
    """(SOP Class, SOP Instance, Study Instance UID) as far as they can be read from the
    part's first 64 KiB (inflated to at most 64 KiB when deflated): the part was refused,
    and may be a deflate bomb or megabytes of junk (issue 14.5, 14.11)."""
    with path.open("rb") as fp:
        head = fp.read(HEADER_BYTES)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = _prefix_dataset(head)
    except Exception:
        return "", "", ""
    if ds is None:
        return "", "", ""
    return (
        str(ds.get("SOPClassUID", "") or ""),
        str(ds.get("SOPInstanceUID", "") or ""),
        str(ds.get("StudyInstanceUID", "") or ""),
    )


def _prefix_dataset(head: bytes) -> Any:
    """The UID elements found in `head`, or None when it is not worth parsing."""
    if head[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != b"DICM":
        if not looks_like_bare_dataset(head):
            return None
        body, implicit, little = head, True, True
    else:
        fp = io.BytesIO(head)
        fp.seek(PREAMBLE_LENGTH + 4)
        syntax = str(filereader._read_file_meta_info(fp).get("TransferSyntaxUID", ""))
        body = fp.read()
        if syntax == DeflatedExplicitVRLittleEndian:
            body = zlib.decompressobj(-zlib.MAX_WBITS).decompress(body, HEADER_BYTES)
        implicit, little = syntax == ImplicitVRLittleEndian, syntax != ExplicitVRBigEndian
    return filereader.read_dataset(
        io.BytesIO(body), implicit, little, stop_when=lambda tag, *_: tag > 0x0020000D,
        specific_tags=list(_UID_TAGS),
    )  # fmt: skip


def _uid_element(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _comment(text: str) -> dict[str, Any]:
    return {"vr": "LO", "Value": [text[:64]]}


def _store_part(part: SpooledPart, study: str | None, user: User) -> Outcome:
    media = parse_media_type(part.content_type or "application/dicom")
    if media.type != "application/dicom":
        return Outcome("refused", reason=Note("media_type"))
    return ingest(part.path, origin="stow", actor=user, study=study)


def _item(part: SpooledPart, outcome: Outcome, base: str, language: Language) -> dict[str, Any]:
    """The ReferencedSOPSequence or FailedSOPSequence item of one part."""
    sop_class, sop_instance = outcome.sop_class_uid, outcome.sop_instance_uid
    if not sop_instance:  # refused before the header was understood: what can be read
        sop_class, sop_instance, _ = _header_uids(part.path)
    item: dict[str, Any] = {
        "00081150": _uid_element(sop_class),
        "00081155": _uid_element(sop_instance),
    }
    message = outcome.message(language)
    if not outcome.ok:
        item["00081197"] = {"vr": "US", "Value": [outcome.stow_reason]}
    else:
        item["00081190"] = {
            "vr": "UR",
            "Value": [
                base
                + resource_path(
                    outcome.study_instance_uid, outcome.series_instance_uid, sop_instance
                )
            ],
        }
        if outcome.notes:
            item["00081196"] = {"vr": "US", "Value": [outcome.stow_reason]}
    if message:
        item["00000902"] = _comment(message)  # Error Comment, as dcm4chee answers
    return item


def _warning_header(texts: list[str]) -> str:
    """`Warning: 299 hounsfield "<text>"`, one value per distinct text (RFC 7234 §5.5).

    In English: header values are ASCII (the body's Error Comments follow the language).
    """
    distinct = list(dict.fromkeys(texts))[:MAX_WARNINGS]
    values = []
    for text in distinct:
        ascii_text = text.encode("ascii", "replace").decode().replace('"', "'").replace("\\", "/")
        values.append(f'299 hounsfield "{ascii_text}"')
    return ", ".join(values)


def store_parts(
    parts: list[SpooledPart],
    study: str | None,
    user: User,
    base: str,
    language: Language = "zh-CN",
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Ingest every part; return the HTTP status, the response dataset (DICOM JSON) and
    headers: 200 all stored, 202 some failed or warned, 409 all failed, 503 (with
    Retry-After) when storage was unavailable for every one. Each failure and warning
    carries its reason: an Error Comment in its item, in `language`, and a Warning header.

    Up to PARALLEL_PARTS parts are ingested at once (hashing, parsing and fsync overlap);
    the index transactions stay short. Each thread runs in a copy of the request's context
    (request id and client address for the audit).
    """
    workers = max(1, min(PARALLEL_PARTS, len(parts)))
    with transfer(), ThreadPoolExecutor(max_workers=workers) as pool:  # refreshes at the end
        futures = [
            pool.submit(contextvars.copy_context().run, _store_part, part, study, user)
            for part in parts
        ]
        outcomes = [future.result() for future in futures]
    pairs = list(zip(parts, outcomes, strict=True))
    referenced = [_item(p, o, base, language) for p, o in pairs if o.ok]
    failed = [_item(p, o, base, language) for p, o in pairs if not o.ok]
    texts = [m for o in outcomes if (m := o.message("en")) and (o.notes or not o.ok)]
    body: dict[str, Any] = {}
    if study is not None:
        body["00081190"] = {"vr": "UR", "Value": [base + resource_path(study)]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    headers = {"Warning": _warning_header(texts)} if texts else {}
    if not referenced:
        if all(o.stow_reason == OUT_OF_RESOURCES for o in outcomes):
            return 503, body, {**headers, "Retry-After": "30"}
        return 409, body, headers
    return (202 if failed or texts else 200), body, headers
