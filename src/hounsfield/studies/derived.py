"""Derived data kept on disk under `<data_dir>/cache`: series metadata and thumbnails.

- Instance metadata fragments (`cache/metadata/instances/…json`) are keyed by a hash of
  SOP Instance UID + content SHA-256, so they never go stale.
- A series document (`cache/metadata/series/<hash>.v<version>.json.gz`) is the gzip'd
  DICOM JSON array of its instances, named by the series' `metadata_version`, which the
  ingest bumps on every change: a document of another version is never served. Opening
  a 1,000-instance series is one file read.
- Thumbnails (`cache/thumbnails/<hash>-<size>.jpg`) are keyed like fragments.

Built in the background after ingest (`studies.refresh_series` calls
:func:`build_series_derived`) and on demand when a request finds nothing current.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import logging
import os
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path

from pydicom.dataset import Dataset
from pydicom.encaps import encapsulate

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.dicom import render
from hounsfield.dicom.json_model import dataset_to_json, pixel_data_json, resource_path
from hounsfield.studies import objects
from hounsfield.studies import refs as lookup
from hounsfield.studies.cache import ByteCache
from hounsfield.studies.refs import InstanceRef, SeriesRef

__all__ = [
    "build_series_derived",
    "instance_metadata",
    "rendered_cache",
    "series_document",
    "thumbnail",
]

logger = logging.getLogger(__name__)


def _digest(*parts: str) -> str:
    return hashlib.sha256("\0".join(parts).encode()).hexdigest()


def cache_dir(*parts: str) -> Path:
    return get_settings().data_dir.joinpath("cache", *parts)


def _fanned(directory: Path, digest: str, suffix: str) -> Path:
    return directory / digest[:2] / f"{digest}{suffix}"


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".tmp-", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


#: Where the DICOMweb root goes in cached metadata: documents are kept base-free, and
#: :func:`with_base` puts the absolute base of the answering request (or the configured
#: public URL) in its place when serving, so BulkDataURIs and Retrieve URLs are absolute.
BASE_MARK = "hf-base:"


def instance_json(
    header: Dataset, *, study: str, series: str, sop: str, transfer_syntax: str
) -> dict[str, object]:
    """The DICOM JSON of one instance from its header (read without pixel data).

    URLs start with BASE_MARK (see :func:`with_base`).
    """
    base = BASE_MARK + resource_path(study, series, sop)

    def uri(path: Sequence[str]) -> str:
        return f"{base}/bulkdata/{'/'.join(path)}"

    pixel = pixel_data_json(header, uri(["7FE00010"])) if header.get("Rows") else None
    out = dataset_to_json(header, bulkdata_uri=uri, pixel_data=pixel)
    out["00083002"] = {"vr": "UI", "Value": [transfer_syntax]}
    out["00081190"] = {"vr": "UR", "Value": [base]}
    return dict(sorted(out.items()))


def with_base(body: bytes, base: str) -> bytes:
    """Cached metadata (JSON bytes) with its URLs made absolute under `base`."""
    escaped = json.dumps(base.rstrip("/"), ensure_ascii=False)[1:-1].encode()
    return body.replace(b'"' + BASE_MARK.encode(), b'"' + escaped)


def _fragment_path(sop_uid: str, sha256: str) -> Path:
    digest = _digest(sop_uid, sha256)
    return _fanned(cache_dir("metadata", "instances"), digest, ".v2.json")


def _encode_fragment(header: Dataset, **ids: str) -> bytes:
    data = json.dumps(instance_json(header, **ids), ensure_ascii=False, separators=(",", ":"))
    return data.encode()


def record_fragment(header: Dataset, transfer_syntax: str, sha256: str) -> None:
    """Write an instance's metadata fragment at ingest, from the header it already parsed.

    The header was parsed from the very bytes whose SHA-256 the index records, so the
    fragment needs no re-read of the object. Never fails the ingest: the refresh builds a
    missing fragment from the stored object instead.
    """
    try:
        sop = str(header.SOPInstanceUID)
        path = _fragment_path(sop, sha256)
        if not path.exists():
            ids = {"study": str(header.StudyInstanceUID), "series": str(header.SeriesInstanceUID)}
            _write_atomic(
                path, _encode_fragment(header, **ids, sop=sop, transfer_syntax=transfer_syntax)
            )
    except Exception as exc:
        logger.warning("metadata fragment not written at ingest: %s", type(exc).__name__)


def instance_metadata(ref: InstanceRef) -> bytes:
    """One instance's DICOM JSON (bytes, base-free), from its fragment or built and cached."""
    path = _fragment_path(ref.sop_instance_uid, ref.sha256)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    return _build_fragment(ref, path)


def _build_fragment(ref: InstanceRef, path: Path) -> bytes:
    # For instances without a fragment from their ingest (stored before fragments were
    # written there, or the write failed). Header only, parsed from storage up to the
    # Pixel Data element, after the object's SHA-256 was checked in a chunked streaming
    # pass: a corrupt object gets no metadata (CorruptObject). Memory is bounded by the header.
    header, _layout = objects.verified_header(ref, cache_it=False)
    encoded = _encode_fragment(
        header,
        study=ref.study_instance_uid,
        series=ref.series_instance_uid,
        sop=ref.sop_instance_uid,
        transfer_syntax=ref.transfer_syntax_uid,
    )
    _write_atomic(path, encoded)
    return encoded


def _series_path(series_uid: str, version: int) -> Path:
    digest = _digest(series_uid)
    return _fanned(cache_dir("metadata", "series"), digest, f".v{version}.json.gz")


def series_document(series: SeriesRef, refs: Sequence[InstanceRef] | None = None) -> Path:
    """The gzip'd JSON array of a series' instance metadata at its current version.

    Parameters
    ----------
    series : SeriesRef
        The series and its current `metadata_version`.
    refs : sequence of InstanceRef, optional
        Its instances; read from the index when the document must be built.
    """
    path = _series_path(series.series_instance_uid, series.metadata_version)
    if path.exists():
        return path
    if refs is None:
        with transaction() as session:
            refs = lookup.instances(session, series.study_instance_uid, series.series_instance_uid)
    body = b"[" + b",".join(instance_metadata(ref) for ref in refs) + b"]"
    _write_atomic(path, gzip.compress(body, compresslevel=5))
    for old in path.parent.glob(f"{_digest(series.series_instance_uid)}.v*.json.gz"):
        version = old.name.split(".v", 1)[1].split(".", 1)[0]
        if version.isdigit() and int(version) < series.metadata_version:
            old.unlink(missing_ok=True)  # never a newer one a concurrent builder just wrote
    return path


#: Series documents with absolute URLs (gzip'd), per (series, version, base), per process.
_served = ByteCache(32 * 1024 * 1024)


def series_metadata(series: SeriesRef, base: str) -> bytes:
    """The gzip'd series document at its current version, its URLs absolute under `base`."""
    key = (series.series_instance_uid, series.metadata_version, base)
    cached = _served.get(key)
    if cached is not None:
        return cached
    for _attempt in range(3):  # a newer version may replace the file between the steps
        try:
            body = gzip.decompress(series_document(series).read_bytes())
            break
        except FileNotFoundError:
            continue
    else:
        raise lookup.StudyNotFound()
    data = gzip.compress(with_base(body, base), compresslevel=5)
    _served.put(key, data)
    return data


def thumbnail(ref: InstanceRef, size: int | None = None) -> bytes:
    """A JPEG thumbnail of one instance (middle frame), cached on disk."""
    size = size or get_settings().dicomweb.thumbnail_size
    path = _fanned(
        cache_dir("thumbnails"), _digest(ref.sop_instance_uid, ref.sha256), f"-{size}.jpg"
    )
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    data = _render_thumbnail(ref, size)
    _write_atomic(path, data)
    return data


def _render_thumbnail(ref: InstanceRef, size: int) -> bytes:
    """Render the middle frame, reading only that frame's bytes (memory: one frame).

    The object's SHA-256 is checked in a streaming pass first (see `_build_fragment`).
    Objects whose frames cannot be located by offset (deflated, float pixel data,
    fragments without an offset table) take the whole-object path.
    """
    header, layout = objects.verified_header(ref, cache_it=False)
    if layout is None:
        return render.thumbnail(objects.dataset(ref, cache_it=False), size=size)
    frame = (len(layout.frames) + 1) // 2
    value = objects.read_frame(ref, layout, frame)
    if layout.encapsulated:
        value = encapsulate([value])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        header.add_new(0x7FE00010, layout.vr, value)
        if "NumberOfFrames" in header:
            header.NumberOfFrames = 1
        arr = render.frame_array(header, 1)
        image = render.display_array(header, arr, frame=frame)
    return render.encode_image(
        image, media_type="image/jpeg", viewport=render.Viewport(size, size), quality=80
    )


#: Rendered images (WADO-RS /rendered), per process.
rendered_cache = ByteCache(32 * 1024 * 1024)


def middle(refs: Sequence[InstanceRef]) -> InstanceRef:
    """The instance a series thumbnail shows: the middle one by instance order."""
    return refs[(len(refs) - 1) // 2]


def build_series_derived(series_uid: str) -> None:
    """Bring a series' metadata fragments, document and thumbnail up to date. Idempotent.

    Refreshes are debounced upstream (`studies.service.Transfer`): a burst of instances
    costs one build.
    """
    with transaction() as session:
        series = lookup.series_by_uid(session, series_uid)
        if series is None:
            return
        try:
            refs = lookup.instances(session, series.study_instance_uid, series_uid)
        except lookup.StudyNotFound:
            return
    for ref in refs:  # fragments come from the ingest; a missing one costs a header read
        path = _fragment_path(ref.sop_instance_uid, ref.sha256)
        if path.exists():
            continue
        try:
            _build_fragment(ref, path)
        except objects.CorruptObject:
            continue  # flagged in the log; never cached
    try:
        series_document(series, refs)
        if any(ref.rows for ref in refs):
            thumbnail(middle([r for r in refs if r.rows]))
    except (objects.CorruptObject, render.RenderError) as exc:
        logger.warning("derived data of a series not built: %s", type(exc).__name__)
