"""Study export as a zip, optionally de-identified (PS3.15 Annex E basic profile with the
Retain Longitudinal Temporal Information with Modified Dates option).

`GET /api/studies/{study_uid}/export?deidentify=true` (`image:export`). The zip is written
while it streams (ZIP data descriptors, no seeking), one instance at a time. Every object
is checked against its SHA-256 (the first before the status line goes out: a clean error);
a later corrupt object aborts the stream, so the zip is never completed without it. The
export is audited when it ends (PS3.15 A.5 Export, 110106): success only once the last byte
was produced, a serious failure with the reason otherwise (corrupt object, client gone).
"""

from __future__ import annotations

import hashlib
import hmac
import io
import json
import threading
import zipfile
from collections.abc import Callable, Iterator
from typing import Annotated

from fastapi import APIRouter, Query
from fastapi.responses import StreamingResponse
from pydicom.dataset import Dataset

from hounsfield.audit import service as audit
from hounsfield.audit.service import Outcome
from hounsfield.auth import keys
from hounsfield.auth.deps import requires
from hounsfield.config import get_settings
from hounsfield.dicom.deidentify import Deidentifier, burned_in_annotation_risk
from hounsfield.dicomweb.router import _refs
from hounsfield.errors import BadRequest, Conflict, HounsfieldError
from hounsfield.studies import derived, objects
from hounsfield.studies.refs import InstanceRef
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

__all__ = ["router"]

router = APIRouter(prefix="/api/studies", tags=["studies"])

Exporter = Annotated[User, requires(Permission.image_export)]


class BurnedInAnnotation(Conflict):
    """Some images may carry burned-in identifying text; they cannot be de-identified."""

    code = "burned_in_annotation"


class OptionWithoutDeidentification(BadRequest):
    """保留 UID 与清理描述仅适用于去标识化导出"""

    english = "retain_uids and clean_descriptors are options of a de-identified export only"
    code = "option_without_deidentification"


def deidentification_key() -> bytes:
    """The keyed-hash secret for UIDs, pseudonyms and date shifts (its own key, not the
    token key: see auth/keys.py)."""
    secret = keys.deidentification_key(get_settings()).encode()
    return hmac.new(secret, b"hounsfield-deidentify-v1", hashlib.sha256).digest()


def _header_risk(ref: InstanceRef) -> str | None:
    """Burned-in risk from the cached metadata (no pixel read)."""
    meta = json.loads(derived.instance_metadata(ref))

    def first(tag: str) -> str:
        values = meta.get(tag, {}).get("Value") or [""]
        return str(values[0])

    ds = Dataset()
    ds.BurnedInAnnotation = first("00280301")
    ds.Modality = first("00080060")
    if ref.rows:
        ds.Rows = ref.rows
    return burned_in_annotation_risk(ds)


class _Sink(io.RawIOBase):
    """An unseekable sink collecting what zipfile writes, drained by the generator."""

    def __init__(self) -> None:
        self.chunks: list[bytes] = []
        self._lock = threading.Lock()

    def writable(self) -> bool:
        return True

    def write(self, data: bytes) -> int:  # type: ignore[override]
        with self._lock:
            self.chunks.append(bytes(data))
        return len(data)

    def drain(self) -> bytes:
        with self._lock:
            out, self.chunks = b"".join(self.chunks), []
        return out


def _member(ref: InstanceRef, deidentifier: Deidentifier | None) -> tuple[str, bytes]:
    """One zip member: (name, verified bytes), de-identified if asked."""
    if deidentifier is None:
        data = objects.read_verified(ref, cache_it=False)
        name = f"{ref.study_instance_uid}/{ref.series_instance_uid}/{ref.sop_instance_uid}"
    else:
        ds = deidentifier.apply(objects.dataset(ref, cache_it=False))
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
        data = buffer.getvalue()
        name = f"{ds.StudyInstanceUID}/{ds.SeriesInstanceUID}/{ds.SOPInstanceUID}"
    return name + ".dcm", data


Ended = Callable[[Outcome, str | None], None]


def _zip_stream(
    refs: list[InstanceRef],
    deidentifier: Deidentifier | None,
    first: tuple[str, bytes],
    ended: Ended,
) -> Iterator[bytes]:
    """The zip, member by member; `ended(outcome, reason)` once it is done or abandoned."""
    sink = _Sink()
    reason: str | None = "interrupted"  # the client went away (the generator is closed)
    try:
        zf = zipfile.ZipFile(sink, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=1)
        for index, ref in enumerate(refs):
            name, data = first if index == 0 else _member(ref, deidentifier)
            zf.writestr(name, data)
            yield sink.drain()
        zf.close()  # only now the central directory: a failed export is never a valid zip
        yield sink.drain()
        reason = None
    except HounsfieldError as exc:
        reason = exc.code
        raise
    finally:
        ended(Outcome.success if reason is None else Outcome.serious_failure, reason)


@router.get("/{study_uid}/export", summary="Export a study as a zip, optionally de-identified")
def export_study(
    study_uid: str,
    user: Exporter,
    deidentify: Annotated[bool, Query(description="Apply the PS3.15 E.1 basic profile")] = True,
    retain_uids: Annotated[
        bool, Query(description="De-identified: keep the UIDs (PS3.15 E.3.9 Retain UIDs)")
    ] = False,
    clean_descriptors: Annotated[
        bool,
        Query(description="De-identified: keep descriptions, cleaned (E.3.5 Clean Descriptors)"),
    ] = False,
) -> StreamingResponse:
    if not deidentify and (retain_uids or clean_descriptors):
        raise OptionWithoutDeidentification()
    refs = _refs(study_uid)
    patient_ids = {r.patient_id for r in refs}
    options = [o for o, on in (("retain_uids", retain_uids),
                               ("clean_descriptors", clean_descriptors)) if on]  # fmt: skip

    def ended(outcome: Outcome, reason: str | None) -> None:
        detail: dict[str, object] = {"deidentified": deidentify, "instances": len(refs)}
        if deidentify:
            detail["options"] = options  # an option chosen is part of the record
        if reason is not None:
            detail["failure"] = reason
        audit.record_now(
            "image.export", user, outcome=outcome, resource_type="study",
            resource_id=study_uid,
            patient_id=next(iter(patient_ids)) if len(patient_ids) == 1 else None,
            detail=detail,
        )  # fmt: skip

    try:  # the first object is checked before the status line: a clean error response
        deidentifier = None
        if deidentify:
            risks = {risk for ref in refs if (risk := _header_risk(ref))}
            if risks:
                raise BurnedInAnnotation(details={"reasons": sorted(risks)})
            deidentifier = Deidentifier(
                deidentification_key(), retain_uids=retain_uids,
                clean_descriptors=clean_descriptors,
            )  # fmt: skip
        first = _member(refs[0], deidentifier)
    except (objects.CorruptObject, objects.MissingObject) as exc:
        ended(Outcome.serious_failure, exc.code)
        raise
    filename = "study-deidentified.zip" if deidentify else "study.zip"
    return StreamingResponse(
        _zip_stream(refs, deidentifier, first, ended),
        media_type="application/zip",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
