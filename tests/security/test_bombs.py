"""Small inputs that cost a lot (issue 14.5, 14.11; SECURITY I6): a deflate bomb by STOW-RS
and upload stays under 64 MiB of server memory; zeros, a zip of zeros and a STOW-RS of
thousands of parts are refused before the expensive work, which is counted."""

from __future__ import annotations

import io
import tracemalloc
import zipfile
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom import filereader
from pydicom.dataset import FileMetaDataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import write_dataset, write_file_meta_info
from pydicom.uid import DeflatedExplicitVRLittleEndian

from hounsfield.dicomweb import multipart, stow
from hounsfield.ingest import uploads
from tests.dicom_factory import make_dataset
from tests.dicomweb.helpers import multipart_body

MiB = 1 << 20


def deflate_bomb(inflated: int = 256 * MiB) -> bytes:
    """A Part 10 file in Deflated Explicit VR LE (about 255 KiB) whose dataset inflates to
    `inflated` bytes: a small header, then an OB element of zeros."""
    ds = make_dataset(transfer_syntax=DeflatedExplicitVRLittleEndian, PixelData=None,
                      Rows=None, Columns=None)  # fmt: skip
    header = DicomBytesIO()
    header.is_little_endian, header.is_implicit_VR = True, False
    write_dataset(header, ds)
    length = inflated - header.tell() - 12
    element = b"\x09\x00\x10\x10OB\x00\x00" + length.to_bytes(4, "little")  # (0009,1010)
    squeeze = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    deflated = [squeeze.compress(header.getvalue() + element)]
    zeros = bytes(MiB)
    for _ in range(length // MiB):
        deflated.append(squeeze.compress(zeros))
    deflated.append(squeeze.compress(bytes(length % MiB)) + squeeze.flush())
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    out = io.BytesIO()
    out.write(bytes(128) + b"DICM")
    write_file_meta_info(out, meta, enforce_standard=True)
    return out.getvalue() + b"".join(deflated)


@pytest.fixture(scope="module")
def bomb() -> bytes:
    data = deflate_bomb()
    assert len(data) < 300 * 1024
    return data


@pytest.fixture
def peak_memory() -> Iterator[Callable[[], int]]:
    """Python heap growth at its peak since the fixture started (tracemalloc)."""
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    yield lambda: tracemalloc.get_traced_memory()[1] - base
    tracemalloc.stop()


def _stow(client: TestClient, headers: dict[str, str], items: list[bytes]) -> Any:
    body, content_type = multipart_body(items)
    return client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": content_type}
    )


def test_a_deflate_bomb_by_stow_is_refused_in_bounded_memory(
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    bomb: bytes,
    peak_memory: Callable[[], int],
) -> None:
    response = _stow(client, auth_headers("technician"), [bomb])
    assert response.status_code == 409
    failed = response.json()["00081198"]["Value"]
    assert len(failed) == 1
    assert "00081197" in failed[0]  # a Failure Reason
    assert peak_memory() < 64 * MiB, peak_memory() / MiB


def test_a_deflate_bomb_by_upload_is_refused_in_bounded_memory(
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    bomb: bytes,
    peak_memory: Callable[[], int],
) -> None:
    response = client.post(
        "/api/uploads", files=[("files", ("bomb.dcm", bomb, "application/dicom"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert response.status_code == 200, response.text
    assert [f["status"] for f in response.json()["results"]] == ["refused"]
    assert peak_memory() < 64 * MiB, peak_memory() / MiB


@pytest.fixture
def parses(monkeypatch: pytest.MonkeyPatch) -> list[int]:
    """Every pydicom dataset parse (dcmread's and ours go through read_dataset)."""
    calls: list[int] = []
    original = filereader.read_dataset

    def counting(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return original(*args, **kwargs)

    monkeypatch.setattr(filereader, "read_dataset", counting)
    return calls


def test_megabytes_of_zeros_are_refused_without_parsing(
    client: TestClient, auth_headers: Callable[..., dict[str, str]], parses: list[int]
) -> None:
    headers = auth_headers("technician")
    zeros = bytes(16 * MiB)
    stowed = _stow(client, headers, [zeros])
    assert stowed.status_code == 409
    uploaded = client.post(
        "/api/uploads", files=[("files", ("zeros.dcm", zeros, "application/dicom"))],
        headers=headers,
    )  # fmt: skip
    assert [f["status"] for f in uploaded.json()["results"]] == ["refused"]
    assert parses == []


def test_a_small_zip_of_zeros_is_refused_before_extraction(
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    monkeypatch: pytest.MonkeyPatch,
    parses: list[int],
) -> None:
    extracted: list[str] = []
    original = uploads._extract
    monkeypatch.setattr(
        uploads, "_extract", lambda a, info, *rest: extracted.append(info.filename)
        or original(a, info, *rest),
    )  # fmt: skip
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k in range(60):
            archive.writestr(f"{k}.dcm", bytes(MiB))
    assert len(buffer.getvalue()) < 100 * 1024  # far below the old 64 MiB threshold
    response = client.post(
        "/api/uploads", files=[("files", ("zeros.zip", buffer.getvalue(), "application/zip"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert response.status_code == 400
    assert "bomb" in response.json()["error"]["message"]
    assert extracted == []
    assert parses == []


def test_a_zip_of_real_instances_is_still_accepted(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    from tests.dicom_factory import to_bytes

    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for k in range(3):
            archive.writestr(f"{k}.dcm", to_bytes(make_dataset(Rows=256, Columns=256)))
    response = client.post(
        "/api/uploads", files=[("files", ("ok.zip", buffer.getvalue(), "application/zip"))],
        headers=auth_headers("technician"),
    )  # fmt: skip
    assert [f["status"] for f in response.json()["results"]] == ["stored"] * 3


def test_a_stow_of_too_many_parts_is_refused_while_reading(
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    settings_env: Callable[..., None],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    headers = auth_headers("technician")
    settings_env(HOUNSFIELD_DICOMWEB__STOW_MAX_PARTS="100")
    begun: list[int] = []
    ingested: list[int] = []
    original_begin, original_ingest = multipart._Spooler.part_begin, stow.ingest
    monkeypatch.setattr(multipart._Spooler, "part_begin",
                        lambda self: begun.append(1) or original_begin(self))  # fmt: skip
    monkeypatch.setattr(
        stow, "ingest", lambda *a, **k: ingested.append(1) or original_ingest(*a, **k)
    )
    response = _stow(client, headers, [b"x"] * 20_000)
    assert response.status_code == 413
    assert "100" in response.json()["error"]["message"]
    assert len(begun) == 101  # stopped at the first part too many
    assert ingested == []
