"""DICOMweb routes under /dicom-web (PS3.18): QIDO-RS, WADO-RS, STOW-RS and WADO-URI.

Thin HTTP layer: parse and negotiate, read the index in a short transaction, then stream
from storage. Same bearer tokens and permissions as the API: `image:read` to query and
view (metadata, frames, rendered images, thumbnails), `image:retrieve` for whole objects
and bulk data (what an export would hand out), `image:create` to store. Every query and
retrieval is audited, one event per request (buffered, see `audit.record_access`).
"""

from __future__ import annotations

import gzip
import logging
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Annotated

from fastapi import APIRouter, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from pydicom.uid import ExplicitVRBigEndian
from starlette.concurrency import run_in_threadpool

from hounsfield.audit import service as audit
from hounsfield.auth.deps import require, requires
from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.dicom import render, transcode
from hounsfield.dicom.json_model import BulkDataPathError, element_at
from hounsfield.dicomweb import public_url, qido, stow, transfer
from hounsfield.dicomweb.multipart import (
    MediaRange,
    NotAcceptable,
    Part,
    content_type_header,
    new_boundary,
    parse_accept,
    stream_parts,
)
from hounsfield.errors import BadRequest, NotFound
from hounsfield.ingest.outcome import language
from hounsfield.studies import derived, objects, queries
from hounsfield.studies import refs as lookup
from hounsfield.studies.refs import InstanceRef
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

logger = logging.getLogger(__name__)

router = APIRouter(prefix="/dicom-web", tags=["dicomweb"])

Reader = Annotated[User, requires(Permission.image_read)]
Retriever = Annotated[User, requires(Permission.image_retrieve)]
Creator = Annotated[User, requires(Permission.image_create)]

DICOM_JSON = "application/dicom+json"
_UID = r"[0-9.]{1,64}"


class InvalidParameter(BadRequest):
    """A DICOMweb request parameter is not valid."""

    code = "invalid_parameter"


def _uid(value: str) -> str:
    if not re.fullmatch(_UID, value):
        raise lookup.StudyNotFound()
    return value


def _accept(request: Request) -> list[MediaRange]:
    ranges = parse_accept(request.headers.get("accept"))
    override = request.query_params.get("accept")
    return parse_accept(override) if override else ranges


def _require_json(request: Request) -> None:
    for r in _accept(request):
        if r.type in ("*/*", "application/*", DICOM_JSON, "application/json"):
            return
    raise NotAcceptable("This resource is available as application/dicom+json.")


def _base_url(request: Request) -> str:
    return public_url.dicomweb_base(request)


def _single_patient(patient_ids: Sequence[str]) -> str | None:
    unique = set(patient_ids)
    return next(iter(unique)) if len(unique) == 1 else None


# -- QIDO-RS (PS3.18 §10.6) -----------------------------------------------------------------


def _qido(
    request: Request, user: User, level: queries.Level, path_filters: dict[str, str]
) -> Response:
    _require_json(request)
    for value in path_filters.values():
        _uid(value)
    query = qido.parse_query(level, request.query_params.multi_items(), path_filters)
    with transaction() as session:
        rows, total = queries.search(
            session,
            level,
            query.filters,
            limit=query.limit,
            offset=query.offset,
            fuzzy=query.fuzzy,
        )
    base = _base_url(request)
    body = [qido.row_to_json(row, query, path_filters, base) for row in rows]
    audit.record_access(
        "image.query", user, resource_type=level.lower(),
        resource_id=path_filters.get("StudyInstanceUID"),
        patient_id=_single_patient([str(r.get("PatientID") or "") for r in rows]),
        detail={"level": level, "matches": total, "returned": len(rows),
                "keys": sorted(query.filters)},
    )  # fmt: skip
    headers = {"X-Total-Count": str(total)}
    ignored = queries.unsupported(query.filters) + list(query.unknown)
    if ignored:
        headers["Warning"] = f'299 hounsfield "Not matched on: {", ".join(sorted(ignored))}"'
    return JSONResponse(body, media_type=DICOM_JSON, headers=headers)


@router.get("/studies", summary="QIDO-RS: search for studies")
def search_studies(request: Request, user: Reader) -> Response:
    return _qido(request, user, "STUDY", {})


@router.get("/studies/{study}/series", summary="QIDO-RS: search a study's series")
def search_study_series(request: Request, study: str, user: Reader) -> Response:
    return _qido(request, user, "SERIES", {"StudyInstanceUID": study})


@router.get("/series", summary="QIDO-RS: search for series")
def search_series(request: Request, user: Reader) -> Response:
    return _qido(request, user, "SERIES", {})


@router.get(
    "/studies/{study}/series/{series}/instances", summary="QIDO-RS: search a series' instances"
)
def search_series_instances(request: Request, study: str, series: str, user: Reader) -> Response:
    return _qido(request, user, "IMAGE", {"StudyInstanceUID": study, "SeriesInstanceUID": series})


@router.get("/studies/{study}/instances", summary="QIDO-RS: search a study's instances")
def search_study_instances(request: Request, study: str, user: Reader) -> Response:
    return _qido(request, user, "IMAGE", {"StudyInstanceUID": study})


@router.get("/instances", summary="QIDO-RS: search for instances")
def search_instances(request: Request, user: Reader) -> Response:
    return _qido(request, user, "IMAGE", {})


# -- WADO-RS retrieve (PS3.18 §10.4) ------------------------------------------------------


def _refs(study: str, series: str | None = None, sop: str | None = None) -> list[InstanceRef]:
    _uid(study)
    if series is not None:
        _uid(series)
    if sop is not None:
        _uid(sop)
    with transaction() as session:
        return lookup.instances(session, study, series, sop)


def _audit_retrieve(user: User, refs: Sequence[InstanceRef], what: str) -> None:
    audit.record_access(
        "image.retrieve", user, resource_type="study",
        resource_id=refs[0].study_instance_uid,
        patient_id=_single_patient([r.patient_id for r in refs]),
        detail={"what": what, "instances": len(refs)},
    )  # fmt: skip


class CannotTranscode(NotAcceptable):
    """The object cannot be sent in the requested transfer syntax."""

    code = "cannot_transcode"


def _transcoded(ref: InstanceRef, transfer_syntax: str) -> bytes:
    try:
        return transcode.to_bytes(transcode.transcode(objects.dataset(ref), transfer_syntax))
    except transcode.TranscodeError as exc:
        raise CannotTranscode(
            f"The object cannot be sent as {transfer_syntax}: {exc}",
            details={"transfer_syntax": transfer_syntax, "reason": str(exc)},
        ) from exc


def _instance_bytes(ref: InstanceRef, transfer_syntax: str | None) -> Iterator[bytes]:
    if transfer_syntax is None or transfer_syntax == ref.transfer_syntax_uid:
        yield from objects.stream_verified(ref)
    else:
        yield _transcoded(ref, transfer_syntax)


def _retrieve(request: Request, user: User, refs: list[InstanceRef], what: str) -> Response:
    stored = {r.transfer_syntax_uid for r in refs}
    choice = transfer.choose_instances(_accept(request), stored, single=len(refs) == 1)
    # The first object is checked before the status line goes out: a corrupt single
    # instance is a clean error response. Later ones abort the stream if corrupt.
    first = b"".join(_instance_bytes(refs[0], choice.transfer_syntax))
    _audit_retrieve(user, refs, what)
    ts = choice.transfer_syntax
    if not choice.multipart:
        syntax = ts or refs[0].transfer_syntax_uid
        return Response(first, media_type=f"application/dicom; transfer-syntax={syntax}")

    boundary = new_boundary()
    media_type = content_type_header("application/dicom", boundary)
    if len(refs) == 1 and _in_memory(refs[0]):  # one body: no per-chunk streaming work
        part = Part(
            f"application/dicom; transfer-syntax={ts or refs[0].transfer_syntax_uid}", first
        )
        return Response(b"".join(stream_parts([part], boundary)), media_type=media_type)

    def parts() -> Iterator[Part]:
        for index, ref in enumerate(refs):
            syntax = ts or ref.transfer_syntax_uid
            body = first if index == 0 else _instance_bytes(ref, ts)
            yield Part(f"application/dicom; transfer-syntax={syntax}", body)

    return StreamingResponse(_coalesced(stream_parts(parts(), boundary)), media_type=media_type)


def _in_memory(ref: InstanceRef) -> bool:
    """Whether the object is read whole (and verified) in memory rather than streamed."""
    return ref.size <= get_settings().dicomweb.verify_in_memory_bytes


def _coalesced(chunks: Iterator[bytes], at_least: int = 256 * 1024) -> Iterator[bytes]:
    """Join the small pieces of a multipart body (part headers, CRLFs) with their object:
    each piece sent is a thread hop and an ASGI message."""
    pending: list[bytes] = []
    size = 0
    for chunk in chunks:
        pending.append(chunk)
        size += len(chunk)
        if size >= at_least:
            yield b"".join(pending) if len(pending) > 1 else pending[0]
            pending, size = [], 0
    if pending:
        yield b"".join(pending)


@router.get("/studies/{study}", summary="WADO-RS: retrieve a study")
def retrieve_study(request: Request, study: str, user: Retriever) -> Response:
    return _retrieve(request, user, _refs(study), "study")


@router.get("/studies/{study}/series/{series}", summary="WADO-RS: retrieve a series")
def retrieve_series(request: Request, study: str, series: str, user: Retriever) -> Response:
    return _retrieve(request, user, _refs(study, series), "series")


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}", summary="WADO-RS: retrieve an instance"
)
def retrieve_instance(
    request: Request, study: str, series: str, sop: str, user: Retriever
) -> Response:
    return _retrieve(request, user, _refs(study, series, sop), "instance")


# -- metadata (PS3.18 §10.4.1.1.2, Annex F) ---------------------------------------------


def _json_bytes(request: Request, body: bytes, gzipped: bool) -> Response:
    accepts_gzip = "gzip" in request.headers.get("accept-encoding", "").lower()
    if gzipped and accepts_gzip:
        return Response(
            body,
            media_type=DICOM_JSON,
            headers={"Content-Encoding": "gzip", "Vary": "Accept-Encoding"},
        )
    return Response(gzip.decompress(body) if gzipped else body, media_type=DICOM_JSON)


@router.get("/studies/{study}/metadata", summary="WADO-RS: metadata of a study")
def study_metadata(request: Request, study: str, user: Reader) -> Response:
    _require_json(request)
    with transaction() as session:
        all_series = lookup.series_of_study(session, _uid(study))
    base = _base_url(request)
    arrays = [gzip.decompress(derived.series_metadata(s, base)).strip() for s in all_series]
    inner = b",".join(a[1:-1] for a in arrays if len(a) > 2)
    audit.record_access(
        "image.retrieve", user, resource_type="study", resource_id=study,
        patient_id=all_series[0].patient_id, detail={"what": "study metadata"},
    )  # fmt: skip
    return _json_bytes(request, b"[" + inner + b"]", gzipped=False)


@router.get("/studies/{study}/series/{series}/metadata", summary="WADO-RS: metadata of a series")
def series_metadata(request: Request, study: str, series: str, user: Reader) -> Response:
    _require_json(request)
    with transaction() as session:
        found = lookup.series_of_study(session, _uid(study), _uid(series))[0]
    body = derived.series_metadata(found, _base_url(request))
    audit.record_access(
        "image.retrieve", user, resource_type="study", resource_id=study,
        patient_id=found.patient_id, detail={"what": "series metadata"},
    )  # fmt: skip
    return _json_bytes(request, body, gzipped=True)


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/metadata",
    summary="WADO-RS: metadata of an instance",
)
def instance_metadata(
    request: Request, study: str, series: str, sop: str, user: Reader
) -> Response:
    _require_json(request)
    refs = _refs(study, series, sop)
    fragment = derived.with_base(derived.instance_metadata(refs[0]), _base_url(request))
    body = b"[" + fragment + b"]"
    _audit_retrieve(user, refs, "instance metadata")
    return _json_bytes(request, body, gzipped=False)


# -- frames and bulk data (PS3.18 §10.4.1.1.3, §10.4.1.1.5) -----------------------------


MAX_FRAMES_PER_REQUEST = 1000


def _frame_numbers(value: str) -> list[int]:
    """The distinct frame numbers of a frame list, in the order asked (issue 14.9: a
    repeated number must not multiply the response)."""
    pieces = value.split(",")
    if len(pieces) > MAX_FRAMES_PER_REQUEST:
        raise InvalidParameter(f"at most {MAX_FRAMES_PER_REQUEST} frames per request")
    try:
        numbers = [int(v) for v in pieces if v.strip() and len(v) <= 10]
    except ValueError as exc:
        raise InvalidParameter("frames must be a comma-separated list of numbers") from exc
    if not numbers or len(numbers) != len([v for v in pieces if v.strip()]):
        raise InvalidParameter("frames must be a comma-separated list of numbers")
    if any(n < 1 for n in numbers):
        raise InvalidParameter("frames must be numbers from 1")
    return list(dict.fromkeys(numbers))


class FrameNotFound(NotFound):
    """The instance has no such frame."""

    code = "frame_not_found"


def _frames_by_offset(
    ref: InstanceRef, numbers: Sequence[int], choice: transfer.FrameChoice
) -> list[bytes] | None:
    """The frames as stored, read by offset (None: take the whole-object path).

    The object is hashed once per process (`objects.pixel_layout`, cached by storage key
    and SHA-256); each request then reads only the requested frames' bytes.
    """
    if ref.transfer_syntax_uid == ExplicitVRBigEndian:
        return None  # frames are byte-swapped: the whole-object path does it
    layout = objects.pixel_layout(ref)
    if layout is None or (layout.encapsulated and choice.transfer_syntax is not None):
        return None  # transcoding decodes the whole object
    count = len(layout.frames)
    if any(not 1 <= n <= count for n in numbers):
        raise FrameNotFound(f"frames are numbered 1..{count}")
    return [objects.read_frame(ref, layout, n) for n in numbers]


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/frames/{frames}",
    summary="WADO-RS: retrieve frames",
)
def retrieve_frames(
    request: Request, study: str, series: str, sop: str, frames: str, user: Reader
) -> Response:
    numbers = _frame_numbers(frames)
    ref = _refs(study, series, sop)[0]
    if not ref.rows:
        raise FrameNotFound("The instance has no pixel data.")
    choice = transfer.choose_frames(_accept(request), ref.transfer_syntax_uid)
    data = _frames_by_offset(ref, numbers, choice)
    if data is None:
        ds = objects.dataset(ref)
        try:
            data = transfer.extract_frames(ds, numbers, choice)
        except transfer.FrameOutOfRange as exc:
            raise FrameNotFound(str(exc)) from exc
        except transcode.TranscodeError as exc:
            raise CannotTranscode(
                f"The frames cannot be sent uncompressed: {exc}", details={"reason": str(exc)}
            ) from exc
    _audit_retrieve(user, [ref], "frames")
    syntax = choice.transfer_syntax or ref.transfer_syntax_uid
    part_type = f"{choice.part_type}; transfer-syntax={syntax}"
    boundary = new_boundary()
    return StreamingResponse(
        stream_parts((Part(part_type, frame) for frame in data), boundary),
        media_type=content_type_header(choice.part_type, boundary),
    )


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/bulkdata/{path:path}",
    summary="WADO-RS: retrieve bulk data",
)
def retrieve_bulkdata(
    request: Request, study: str, series: str, sop: str, path: str, user: Retriever
) -> Response:
    ref = _refs(study, series, sop)[0]
    ds = objects.dataset(ref)
    try:
        elem = element_at(ds, [p for p in path.split("/") if p])
    except BulkDataPathError as exc:
        raise NotFound("No such bulk data.") from exc
    _audit_retrieve(user, [ref], "bulkdata")
    part_type = "application/octet-stream"
    if int(elem.tag) == 0x7FE00010:
        part_type += f"; transfer-syntax={ref.transfer_syntax_uid}"
    value = elem.value if isinstance(elem.value, bytes) else bytes(elem.value or b"")
    boundary = new_boundary()
    return StreamingResponse(
        stream_parts([Part(part_type, value)], boundary),
        media_type=content_type_header("application/octet-stream", boundary),
    )


# -- rendered and thumbnails (PS3.18 §10.4.1.1.4, §10.4.1.1.6 thumbnail) ------------------


def _image_type(request: Request) -> render.MediaType:
    for r in _accept(request):
        if r.type in ("*/*", "image/*", "image/jpeg"):
            return "image/jpeg"
        if r.type == "image/png":
            return "image/png"
    raise NotAcceptable("Rendered images are available as image/jpeg or image/png.")


def _render_params(
    request: Request,
) -> tuple[render.Window | None, render.Viewport | None, int]:
    params = request.query_params
    try:
        window = render.parse_window(params["window"]) if "window" in params else None
        viewport = render.parse_viewport(params["viewport"]) if "viewport" in params else None
        quality = int(params.get("quality", "90"))
    except (render.RenderError, ValueError) as exc:
        raise InvalidParameter(str(exc)) from exc
    if not 1 <= quality <= 100:
        raise InvalidParameter("quality must be 1..100")
    return window, viewport, quality


class CannotRender(BadRequest):
    """The instance cannot be rendered."""

    code = "cannot_render"


class CannotDecode(NotAcceptable):
    """The pixel data is in a form no decoder here reads: no image can be made of it."""

    code = "cannot_decode"


def _render_error(exc: render.RenderError) -> BadRequest | NotAcceptable:
    if isinstance(exc.__cause__, transcode.TranscodeError):
        return CannotDecode(str(exc), details={"reason": str(exc)})
    return CannotRender(str(exc))


def _rendered(request: Request, user: User, ref: InstanceRef, frame: int) -> Response:
    media_type = _image_type(request)
    window, viewport, quality = _render_params(request)
    key = (ref.sop_instance_uid, ref.sha256, frame, window, viewport, media_type, quality)
    data = derived.rendered_cache.get(key)
    if data is None:
        ds = objects.dataset(ref)
        try:
            data = render.render(
                ds,
                frame=frame,
                window=window,
                viewport=viewport,
                media_type=media_type,
                quality=quality,
            )
        except render.RenderError as exc:
            raise _render_error(exc) from exc
        derived.rendered_cache.put(key, data)
    _audit_retrieve(user, [ref], "rendered")
    return Response(data, media_type=media_type)


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/rendered",
    summary="WADO-RS: an instance rendered as JPEG or PNG",
)
def rendered_instance(
    request: Request, study: str, series: str, sop: str, user: Reader
) -> Response:
    ref = _refs(study, series, sop)[0]
    return _rendered(request, user, ref, 1)


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/frames/{frames}/rendered",
    summary="WADO-RS: a frame rendered as JPEG or PNG",
)
def rendered_frame(
    request: Request, study: str, series: str, sop: str, frames: str, user: Reader
) -> Response:
    numbers = _frame_numbers(frames)
    if len(numbers) != 1:
        raise InvalidParameter("rendered frames are retrieved one at a time")
    ref = _refs(study, series, sop)[0]
    if numbers[0] > ref.number_of_frames:
        raise FrameNotFound()
    return _rendered(request, user, ref, numbers[0])


def _thumbnail(request: Request, user: User, refs: list[InstanceRef]) -> Response:
    images = [r for r in refs if r.rows]
    if not images:
        raise CannotRender("Nothing here has pixel data.")
    for r in _accept(request):
        if r.type in ("*/*", "image/*", "image/jpeg"):
            break
    else:
        raise NotAcceptable("Thumbnails are available as image/jpeg.")
    size = None
    if "viewport" in request.query_params:
        try:
            viewport = render.parse_viewport(request.query_params["viewport"])
        except render.RenderError as exc:
            raise InvalidParameter(str(exc)) from exc
        size = min(max(viewport.width, viewport.height), 512)
    try:
        data = derived.thumbnail(derived.middle(images), size)
    except render.RenderError as exc:
        raise _render_error(exc) from exc
    _audit_retrieve(user, refs, "thumbnail")
    return Response(
        data, media_type="image/jpeg", headers={"Cache-Control": "private, max-age=300"}
    )


@router.get("/studies/{study}/thumbnail", summary="WADO-RS: a study thumbnail")
def study_thumbnail(request: Request, study: str, user: Reader) -> Response:
    with transaction() as session:  # the first series with images; not every instance
        all_series = lookup.series_of_study(session, _uid(study))
    for series in all_series:
        try:
            refs = _refs(study, series.series_instance_uid)
        except lookup.StudyNotFound:
            continue
        if any(ref.rows for ref in refs):
            return _thumbnail(request, user, refs)
    raise CannotRender("Nothing here has pixel data.")


@router.get("/studies/{study}/series/{series}/thumbnail", summary="WADO-RS: a series thumbnail")
def series_thumbnail(request: Request, study: str, series: str, user: Reader) -> Response:
    return _thumbnail(request, user, _refs(study, series))


@router.get(
    "/studies/{study}/series/{series}/instances/{sop}/thumbnail",
    summary="WADO-RS: an instance thumbnail",
)
def instance_thumbnail(
    request: Request, study: str, series: str, sop: str, user: Reader
) -> Response:
    return _thumbnail(request, user, _refs(study, series, sop))


# -- STOW-RS (PS3.18 §10.5) ---------------------------------------------------------------


@router.post("/studies", summary="STOW-RS: store instances")
async def store_instances(request: Request, user: Creator) -> Response:
    return await _stow(request, user, None)


@router.post("/studies/{study}", summary="STOW-RS: store instances of one study")
async def store_study_instances(request: Request, study: str, user: Creator) -> Response:
    return await _stow(request, user, _uid(study))


async def _stow(request: Request, user: User, study: str | None) -> Response:
    _require_json(request)
    stow.check_content_type(request.headers.get("content-type", ""))
    conf = get_settings()
    length = request.headers.get("content-length")
    if length and length.isdigit() and int(length) > conf.dicomweb.stow_max_bytes:
        raise stow.PayloadTooLarge("The request body is larger than allowed.")
    with stow.slot(), stow.spool_directory(conf.data_dir / "spool") as directory:
        parts = await stow.receive(request, Path(directory))
        status, body, headers = await run_in_threadpool(
            stow.store_parts,
            parts,
            study,
            user,
            _base_url(request),
            language(request.headers.get("accept-language")),
        )
    return JSONResponse(body, status_code=status, media_type=DICOM_JSON, headers=headers)


# -- WADO-URI (PS3.18 §9) -------------------------------------------------------------------


@router.get("/wado", summary="WADO-URI: retrieve an object or a rendered image")
def wado_uri(request: Request, user: Reader) -> Response:
    params = request.query_params
    if params.get("requestType") != "WADO":
        raise InvalidParameter("requestType must be WADO")
    try:
        study, series, sop = params["studyUID"], params["seriesUID"], params["objectUID"]
    except KeyError as exc:
        raise InvalidParameter("studyUID, seriesUID and objectUID are required") from exc
    ref = _refs(study, series, sop)[0]
    content_type = (params.get("contentType") or "image/jpeg").split(",")[0].strip().lower()
    if content_type == "application/dicom":
        require(Permission.image_retrieve)(request, user)
        wanted = params.get("transferSyntax") or None
        if wanted and not transcode.can_produce(ref.transfer_syntax_uid, wanted):
            raise NotAcceptable(f"The object cannot be sent as {wanted}.")
        body = b"".join(_instance_bytes(ref, wanted))
        _audit_retrieve(user, [ref], "wado-uri")
        return Response(body, media_type="application/dicom")
    if content_type not in ("image/jpeg", "image/png"):
        raise NotAcceptable("contentType must be application/dicom, image/jpeg or image/png.")
    try:
        frame = int(params.get("frameNumber", "1"))
        window = None
        if "windowCenter" in params and "windowWidth" in params:
            window = render.Window(float(params["windowCenter"]), float(params["windowWidth"]))
        rows, columns = params.get("rows"), params.get("columns")
        viewport = None
        if rows or columns:
            viewport = render.parse_viewport(f"{columns or rows},{rows or columns}")
        quality = int(params.get("imageQuality", "90"))
    except ValueError as exc:  # RenderError is a ValueError too
        raise InvalidParameter(f"frameNumber, window, rows, columns: {exc}") from exc
    try:
        data = render.render(
            objects.dataset(ref),
            frame=frame,
            window=window,
            viewport=viewport,
            media_type=content_type,  # type: ignore[arg-type]
            quality=max(1, min(100, quality)),
        )
    except render.RenderError as exc:
        raise _render_error(exc) from exc
    _audit_retrieve(user, [ref], "wado-uri")
    return Response(data, media_type=content_type)
