"""Derived work and frame retrieval read bounded byte ranges, never the whole object.

A large synthetic multi-frame object (native and encapsulated): WADO-RS frame k is the
right slice; the thumbnail and the metadata document are built with peak Python memory
far below the object's size, and the builder never reads the whole object into memory.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import shutil
import tracemalloc
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.encaps import encapsulate, get_frame
from pydicom.uid import (
    CTImageStorage,
    ExplicitVRLittleEndian,
    RLELossless,
    generate_uid,
)

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.dicom import render
from hounsfield.studies import derived, objects
from hounsfield.studies import refs as lookup
from hounsfield.studies.refs import InstanceRef
from tests.dicomweb.helpers import parse_multipart, read_dataset

ROWS = COLS = 256
FRAMES = 120  # 256×256×2 × 120 = 15 MiB
OCTET = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def _pixels() -> np.ndarray[Any, np.dtype[np.int16]]:
    base = np.arange(ROWS * COLS, dtype=np.int32).reshape(ROWS, COLS) % 2000 - 1000
    return np.stack([(base + 7 * k) % 3000 - 1000 for k in range(FRAMES)]).astype(np.int16)


def _dataset(syntax: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = CTImageStorage
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = syntax
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientID = "BOUNDED"
    ds.Modality = "CT"
    ds.InstanceNumber = 1
    ds.Rows, ds.Columns = ROWS, COLS
    ds.NumberOfFrames = FRAMES
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated = ds.BitsStored = 16
    ds.HighBit = 15
    ds.PixelRepresentation = 1
    ds.RescaleSlope, ds.RescaleIntercept = 1, 0
    ds.WindowCenter, ds.WindowWidth = 40, 400
    return ds


def native_object() -> tuple[bytes, np.ndarray[Any, np.dtype[np.int16]]]:
    pixels = _pixels()
    ds = _dataset(ExplicitVRLittleEndian)
    ds.PixelData = pixels.tobytes()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), pixels


def encapsulated_object(*, has_bot: bool, filler: int = 0) -> tuple[bytes, list[bytes]]:
    """RLE Lossless: each frame is one fragment; frames of distinct lengths.

    With `filler`, every frame but the middle one (the thumbnail's) is that many random
    bytes: a large object whose other frames are never decoded.
    """
    from pydicom.pixels import get_encoder

    pixels = _pixels()[:40]
    ds = _dataset(RLELossless)
    ds.NumberOfFrames = len(pixels)
    encoder = get_encoder(RLELossless)
    frames = [
        encoder.encode(p.tobytes(), **_encoding_opts(), index=None)
        for p in pixels  # distinct content, distinct lengths
    ]
    if filler:
        middle = (len(frames) + 1) // 2 - 1
        frames = [f if k == middle else os.urandom(filler) for k, f in enumerate(frames)]
    ds.PixelData = encapsulate(frames, has_bot=has_bot)
    ds["PixelData"].VR = "OB"
    ds["PixelData"].is_undefined_length = True
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue(), frames


def _encoding_opts() -> dict[str, Any]:
    return {
        "rows": ROWS,
        "columns": COLS,
        "samples_per_pixel": 1,
        "bits_allocated": 16,
        "bits_stored": 16,
        "pixel_representation": 1,
        "photometric_interpretation": "MONOCHROME2",
        "number_of_frames": 1,
    }


def _ref(data: bytes) -> InstanceRef:
    """The stored instance, once the background derived work of its ingest has ended."""
    from hounsfield.worker import shutdown_local_pool

    shutdown_local_pool(wait=True)  # so that only the reads under test are counted
    ds = read_dataset(data)
    with transaction() as session:
        refs = lookup.instances(session, ds.StudyInstanceUID, ds.SeriesInstanceUID)
    assert len(refs) == 1
    return refs[0]


def _frame_url(data: bytes, frames: str) -> str:
    ds = read_dataset(data)
    return (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}/frames/{frames}"
    )


class CountingRead:
    """Wraps the storage's open(): records the largest single read() and the total read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        from hounsfield.storage import get_storage

        storage = get_storage()
        original = storage.open
        self.largest = 0
        self.total = 0
        counter = self

        class Reader(io.RawIOBase):
            def __init__(self, fp: Any) -> None:
                self.fp = fp

            def read(self, size: int = -1) -> bytes:
                data: bytes = self.fp.read(size)
                counter.largest = max(counter.largest, len(data))
                counter.total += len(data)
                return data

            def readinto(self, buffer: Any) -> int:
                data = self.read(len(buffer))
                buffer[: len(data)] = data
                return len(data)

            def readable(self) -> bool:
                return True

            def seekable(self) -> bool:
                return True

            def seek(self, offset: int, whence: int = 0) -> int:
                return int(self.fp.seek(offset, whence))

            def tell(self) -> int:
                return int(self.fp.tell())

            def close(self) -> None:
                self.fp.close()
                super().close()

        monkeypatch.setattr(storage, "open", lambda key: Reader(original(key)))


def _clear_derived(data_dir: Path) -> None:
    shutil.rmtree(data_dir / "cache", ignore_errors=True)


def test_native_frames_are_the_right_slices_read_by_offset(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, pixels = native_object()
    assert stow([data]).status_code == 200
    ref = _ref(data)
    objects.layouts._items.pop((ref.storage_key, ref.sha256), None)  # verify again below
    counting = CountingRead(monkeypatch)
    response = client.get(_frame_url(data, "1,37,120"), headers={**writer_headers, "Accept": OCTET})
    assert response.status_code == 200
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert [p[1] for p in parts] == [pixels[k].tobytes() for k in (0, 36, 119)]
    assert counting.largest <= objects.CHUNK  # the hash pass is chunked, frames are one frame

    counting.total = 0
    again = client.get(_frame_url(data, "60"), headers={**writer_headers, "Accept": OCTET})
    assert parse_multipart(again.headers["content-type"], again.content)[0][1] == (
        pixels[59].tobytes()
    )
    # verified once per process: the second request reads one frame, not the object
    assert counting.total < 2 * ROWS * COLS * 2 < len(data)
    missing = client.get(_frame_url(data, "121"), headers={**writer_headers, "Accept": OCTET})
    assert missing.status_code == 404


@pytest.mark.parametrize("has_bot", [True, False])
def test_encapsulated_frames_use_the_fragment_table(
    has_bot: bool,
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    data, frames = encapsulated_object(has_bot=has_bot)
    assert stow([data]).status_code == 200
    ref = _ref(data)
    layout = objects.pixel_layout(ref)
    assert layout is not None
    assert layout.encapsulated
    assert len(layout.frames) == len(frames)
    counting = CountingRead(monkeypatch)
    response = client.get(_frame_url(data, "2,40"), headers={**writer_headers, "Accept": OCTET})
    parts = parse_multipart(response.headers["content-type"], response.content)
    stored = read_dataset(data).PixelData
    assert [p[1] for p in parts] == [
        get_frame(stored, 1, number_of_frames=40),
        get_frame(stored, 39, number_of_frames=40),
    ]
    assert parts[0][1] == frames[1]
    assert counting.total == len(frames[1]) + len(frames[39])
    # transcoding to Explicit VR Little Endian still decodes (whole-object path)
    explicit = 'multipart/related; type="application/octet-stream"'
    decoded = client.get(_frame_url(data, "3"), headers={**writer_headers, "Accept": explicit})
    payload = parse_multipart(decoded.headers["content-type"], decoded.content)[0][1]
    assert payload == _pixels()[2].tobytes()


def test_corrupt_object_is_not_served_by_offset(
    stow: Callable[..., Any], client: TestClient, writer_headers: dict[str, str]
) -> None:
    data = native_object()[0]
    assert stow([data]).status_code == 200
    ref = _ref(data)
    objects.layouts._items.pop((ref.storage_key, ref.sha256), None)
    from hounsfield.storage import get_storage
    from hounsfield.storage.local import LocalStorage

    storage = get_storage()
    assert isinstance(storage, LocalStorage)
    path = storage._path(ref.storage_key)
    raw = bytearray(path.read_bytes())
    raw[-10] ^= 0xFF
    mtime = path.stat().st_mtime_ns
    path.write_bytes(bytes(raw))
    os.utime(path, ns=(mtime, mtime + 10**9))  # changed, even within one clock tick
    response = client.get(_frame_url(data, "1"), headers={**writer_headers, "Accept": OCTET})
    assert response.status_code == 500
    with pytest.raises(objects.CorruptObject):
        objects.verified_header(ref)


@pytest.mark.parametrize("kind", ["native", "rle"])
def test_derived_builder_reads_bounded_memory(
    kind: str,
    stow: Callable[..., Any],
    data_dir: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    if kind == "native":
        data = native_object()[0]
    else:
        data = encapsulated_object(has_bot=True, filler=400_000)[0]
    assert len(data) > 12 * objects.CHUNK
    assert stow([data]).status_code == 200
    ref = _ref(data)
    _clear_derived(data_dir)

    def whole_object_read(*args: Any, **kwargs: Any) -> bytes:
        raise AssertionError("the derived builder read the whole object")

    monkeypatch.setattr(objects, "read_verified", whole_object_read)
    counting = CountingRead(monkeypatch)
    tracemalloc.start()
    try:
        derived.build_series_derived(ref.series_instance_uid)
        _current, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert counting.largest <= objects.CHUNK
    assert peak < 4 * objects.CHUNK, (peak, len(data))  # a whole-object read is > 12 MiB

    with transaction() as session:
        series = lookup.series_by_uid(session, ref.series_instance_uid)
    assert series is not None
    document = derived.series_document(series)
    body = json.loads(gzip.decompress(document.read_bytes()))
    pixel = body[0]["7FE00010"]
    assert "InlineBinary" not in pixel
    assert pixel["BulkDataURI"].endswith("/bulkdata/7FE00010")
    assert len(document.read_bytes()) < 10_000
    thumbs = list((data_dir / "cache" / "thumbnails").rglob("*.jpg"))
    assert len(thumbs) == 1
    assert thumbs[0].read_bytes()[:3] == b"\xff\xd8\xff"
    # the same image the whole-object rendering gives (middle frame, same pipeline)
    size = get_settings().dicomweb.thumbnail_size
    assert thumbs[0].read_bytes() == render.thumbnail(read_dataset(data), size=size)
