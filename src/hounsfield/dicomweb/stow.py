"""STOW-RS (PS3.18 §10.5): spool the parts, ingest each, answer with a Store Instances
Response Module (ReferencedSOPSequence / FailedSOPSequence)."""

from __future__ import annotations

import contextvars
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

from fastapi import Request
from pydicom import dcmread

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.dicomweb.multipart import (
    SpooledPart,
    UnsupportedMediaType,
    parse_media_type,
    spool_directory,
    spool_multipart,
)
from hounsfield.errors import BadRequest, PayloadTooLarge
from hounsfield.ingest.service import (
    InstanceConflict,
    InvalidInstance,
    StorageUnavailable,
    prepare_instance,
    store_instance,
)
from hounsfield.studies.service import transfer
from hounsfield.users.models import User

__all__ = [
    "PayloadTooLarge",
    "check_content_type",
    "receive",
    "spool_directory",
    "store_parts",
]

logger = logging.getLogger(__name__)

# PS3.18 Table 10.5.3-1 / PS3.4 Annex GG: Failure Reason values.
PROCESSING_FAILURE = 0x0110
DUPLICATE_SOP = 0x0111
OUT_OF_RESOURCES = 0xA700
DATASET_MISMATCH = 0xA900  # e.g. not of the study the request path names
CANNOT_UNDERSTAND = 0xC000
COERCION = 0xB000  # Warning Reason: data elements coerced (e.g. preamble zeroed)
PARALLEL_PARTS = 4


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
    )
    if not parts:
        raise BadRequest("The request holds no instances.")
    return parts


def _header_uids(path: Path) -> tuple[str, str, str]:
    """(SOP Class, SOP Instance, Study Instance UID) as far as they can be read."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ds = dcmread(
                path,
                stop_before_pixels=True,
                force=True,
                specific_tags=["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID"],
            )
        return (
            str(ds.get("SOPClassUID", "") or ""),
            str(ds.get("SOPInstanceUID", "") or ""),
            str(ds.get("StudyInstanceUID", "") or ""),
        )
    except Exception:
        return "", "", ""


def _uid_element(value: str) -> dict[str, Any]:
    return {"vr": "UI", "Value": [value]} if value else {"vr": "UI"}


def _failed(sop_class: str, sop_instance: str, reason: int) -> dict[str, Any]:
    return {
        "00081150": _uid_element(sop_class),
        "00081155": _uid_element(sop_instance),
        "00081197": {"vr": "US", "Value": [reason]},
    }


def _store_part(
    part: SpooledPart, study: str | None, user: User, base: str
) -> tuple[bool, dict[str, Any], bool]:
    """(stored, ReferencedSOPSequence or FailedSOPSequence item, warned) for one part."""
    sop_class, sop_instance, part_study = _header_uids(part.path)
    media = parse_media_type(part.content_type or "application/dicom")
    if media.type != "application/dicom":
        return False, _failed(sop_class, sop_instance, CANNOT_UNDERSTAND), False
    if study is not None and part_study != study:
        return False, _failed(sop_class, sop_instance, DATASET_MISMATCH), False
    try:
        # The slow part (hash, parse, fsync'ed object write) before the index
        # transaction, which on SQLite holds the database's write lock.
        with prepare_instance(part.path) as prepared, transaction(write=True) as session:
            result = store_instance(session, prepared, origin="stow", actor=user)
    except InvalidInstance as exc:
        logger.info("STOW-RS part refused: %s", getattr(exc, "reason", "invalid"))
        return False, _failed(sop_class, sop_instance, CANNOT_UNDERSTAND), False
    except InstanceConflict:
        return False, _failed(sop_class, sop_instance, DUPLICATE_SOP), False
    except StorageUnavailable:
        return False, _failed(sop_class, sop_instance, OUT_OF_RESOURCES), False
    item: dict[str, Any] = {
        "00081150": _uid_element(result.sop_class_uid),
        "00081155": _uid_element(result.sop_instance_uid),
        "00081190": {
            "vr": "UR",
            "Value": [
                f"{base}/studies/{result.study_instance_uid}/series/"
                f"{result.series_instance_uid}/instances/{result.sop_instance_uid}"
            ],
        },
    }
    if result.warning:
        item["00081196"] = {"vr": "US", "Value": [COERCION]}
    return True, item, bool(result.warning)


def store_parts(
    parts: list[SpooledPart], study: str | None, user: User, base: str
) -> tuple[int, dict[str, Any], dict[str, str]]:
    """Ingest every part; return the HTTP status, the response dataset (DICOM JSON) and
    headers: 200 all stored, 202 some failed or warned, 409 all failed, 503 (with
    Retry-After) when storage was unavailable for every one.

    Up to PARALLEL_PARTS parts are prepared at once (hashing, parsing and fsync overlap);
    the index transactions stay short. Each thread runs in a copy of the request's context
    (request id and client address for the audit).
    """
    workers = max(1, min(PARALLEL_PARTS, len(parts)))
    with transfer(), ThreadPoolExecutor(max_workers=workers) as pool:  # refreshes at the end
        futures = [
            pool.submit(contextvars.copy_context().run, _store_part, part, study, user, base)
            for part in parts
        ]
        outcomes = [future.result() for future in futures]
    referenced = [item for stored, item, _ in outcomes if stored]
    failed = [item for stored, item, _ in outcomes if not stored]
    warned = any(warning for _, _, warning in outcomes)
    body: dict[str, Any] = {}
    if study is not None:
        body["00081190"] = {"vr": "UR", "Value": [f"{base}/studies/{study}"]}
    if failed:
        body["00081198"] = {"vr": "SQ", "Value": failed}
    if referenced:
        body["00081199"] = {"vr": "SQ", "Value": referenced}
    if not referenced:
        reasons = {item["00081197"]["Value"][0] for item in failed}
        if reasons == {OUT_OF_RESOURCES}:
            return 503, body, {"Retry-After": "30"}
        return 409, body, {}
    return (202 if failed or warned else 200), body, {}
