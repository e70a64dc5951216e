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
from hounsfield.dicom.json_model import dataset_to_json, pixel_data_json
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

BASE_PATH = "/dicom-web"


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


def instance_url(ref: InstanceRef) -> str:
    return (
        f"{BASE_PATH}/studies/{ref.study_instance_uid}/series/{ref.series_instance_uid}"
        f"/instances/{ref.sop_instance_uid}"
    )


def instance_json(ref: InstanceRef, header: Dataset) -> dict[str, object]:
    """The DICOM JSON of one instance read without its pixel data."""
    base = instance_url(ref)

    def uri(path: Sequence[str]) -> str:
        return f"{base}/bulkdata/{'/'.join(path)}"

    pixel = pixel_data_json(header, uri(["7FE00010"])) if ref.rows else None
    out = dataset_to_json(header, bulkdata_uri=uri, pixel_data=pixel)
    out["00083002"] = {"vr": "UI", "Value": [ref.transfer_syntax_uid]}
    out["00081190"] = {"vr": "UR", "Value": [base]}
    return dict(sorted(out.items()))


def _fragment_path(ref: InstanceRef) -> Path:
    return _fanned(
        cache_dir("metadata", "instances"),
        _digest(ref.sop_instance_uid, ref.sha256),
        ".json",
    )


def instance_metadata(ref: InstanceRef) -> bytes:
    """One instance's DICOM JSON (bytes), from its cached fragment or built and cached."""
    path = _fragment_path(ref)
    try:
        return path.read_bytes()
    except FileNotFoundError:
        pass
    return _build_fragment(ref, path)


def _build_fragment(ref: InstanceRef, path: Path) -> bytes:
    # Header only, parsed from storage up to the Pixel Data element; the object's SHA-256
    # is still checked, in a chunked streaming pass (constant memory) rather than trusting
    # the ingest-time hash: storage may have changed since, and a corrupt object must not
    # get metadata (CorruptObject, as before). Memory is bounded by the header.
    header, _layout = objects.verified_header(ref, cache_it=False)
    data = json.dumps(instance_json(ref, header), ensure_ascii=False, separators=(",", ":"))
    encoded = data.encode()
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
    for ref in refs:  # only new instances cost a read: a fragment is never stale
        path = _fragment_path(ref)
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
