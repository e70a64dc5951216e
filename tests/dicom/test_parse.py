"""Header validation: what the archive refuses before anything is stored (SECURITY.md I1-I6)."""

from __future__ import annotations

import io
import struct
import zlib
from pathlib import Path

import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.filewriter import write_file_meta_info
from pydicom.uid import DeflatedExplicitVRLittleEndian, SecondaryCaptureImageStorage, generate_uid

from hounsfield.dicom.parse import InvalidInstance, ParseLimits, parse_instance, sanitize_preamble
from tests.dicom_factory import make_dataset, to_bytes

pytestmark = pytest.mark.nodb


def _write(tmp_path: Path, data: bytes, name: str = "f.dcm") -> Path:
    path = tmp_path / name
    path.write_bytes(data)
    return path


def _refused(path: Path, limits: ParseLimits | None = None) -> str:
    with pytest.raises(InvalidInstance) as info:
        parse_instance(path, limits)
    return info.value.reason


def test_a_valid_instance_is_parsed_without_pixel_data(tmp_path: Path) -> None:
    ds = make_dataset(Rows=64, Columns=64)
    parsed = parse_instance(_write(tmp_path, to_bytes(ds)))
    assert parsed.sop_instance_uid == ds.SOPInstanceUID
    assert parsed.study_instance_uid == ds.StudyInstanceUID
    assert parsed.transfer_syntax_uid == "1.2.840.10008.1.2.1"
    assert parsed.part10
    assert "PixelData" not in parsed.dataset


@pytest.mark.parametrize(
    "data",
    [b"", b"hello world", b"\x00" * 5000, b"%PDF-1.4\n" + b"x" * 4000, bytes(range(256)) * 20],
)
def test_non_dicom_is_refused(tmp_path: Path, data: bytes) -> None:
    assert "DICOM" in _refused(_write(tmp_path, data))


def test_truncated_pixel_data_is_refused(tmp_path: Path) -> None:
    data = to_bytes(make_dataset(Rows=64, Columns=64))
    assert "truncated" in _refused(_write(tmp_path, data[:-1000]))


def test_truncated_header_is_refused(tmp_path: Path) -> None:
    data = to_bytes(make_dataset(StudyDescription="X" * 60))
    cut = data.index(b"CT CHEST") if b"CT CHEST" in data else 400
    reason = _refused(_write(tmp_path, data[: cut + 2]))
    assert reason


def test_pixel_data_shorter_than_the_image_is_refused(tmp_path: Path) -> None:
    ds = make_dataset(Rows=512, Columns=512, PixelData=b"\x00" * 512)
    assert "shorter" in _refused(_write(tmp_path, to_bytes(ds)))


def test_huge_dimensions_are_refused_before_allocation(tmp_path: Path) -> None:
    ds = make_dataset(Rows=65535, Columns=65535, NumberOfFrames=5000, PixelData=b"\x00" * 16)
    assert "exceed" in _refused(_write(tmp_path, to_bytes(ds)))


@pytest.mark.parametrize("bad", ["../../x", "1.2/3", "1." + "2" * 63, "1.02", "1..2", ".1.2"])
@pytest.mark.parametrize("keyword", ["SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"])
def test_bad_uids_are_refused(tmp_path: Path, keyword: str, bad: str) -> None:
    ds = make_dataset()
    setattr(ds, keyword, bad)
    if keyword == "SOPInstanceUID":
        ds.file_meta.MediaStorageSOPInstanceUID = generate_uid()
    assert _refused(_write(tmp_path, to_bytes(ds))) == f"invalid {keyword} (not a DICOM UID)"


@pytest.mark.parametrize(
    "keyword", ["SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID"]
)
def test_missing_uids_are_refused(tmp_path: Path, keyword: str) -> None:
    ds = make_dataset(**{keyword: None})
    assert _refused(_write(tmp_path, to_bytes(ds))) == f"missing {keyword}"


def test_reasons_carry_no_patient_data(tmp_path: Path) -> None:
    ds = make_dataset(PatientName="ZZCANARY^Secret", PatientID="ZZCANARY-ID", Rows=512)
    reason = _refused(_write(tmp_path, to_bytes(ds)[:-10]))
    assert "ZZCANARY" not in reason


@pytest.mark.parametrize("magic", [b"MZ\x90\x00", b"\x7fELF\x02\x01", b"#!/bin/sh\n"])
def test_an_executable_preamble_is_zeroed(magic: bytes) -> None:
    data = to_bytes(make_dataset(), preamble=magic + b"\x01" * 50)
    fixed, zeroed = sanitize_preamble(data[:132])
    assert zeroed
    assert fixed[:128] == bytes(128)
    assert fixed[128:132] == b"DICM"


def test_zero_and_tiff_preambles_are_kept() -> None:
    plain = to_bytes(make_dataset())
    assert sanitize_preamble(plain[:132]) == (plain[:132], False)
    tiff = to_bytes(make_dataset(), preamble=b"II*\x00\x08\x00")
    assert sanitize_preamble(tiff[:132]) == (tiff[:132], False)


def test_a_bare_dataset_is_recognized(tmp_path: Path) -> None:
    ds = make_dataset()
    del ds.file_meta
    buffer = io.BytesIO()
    ds.save_as(buffer, implicit_vr=True, little_endian=True, enforce_file_format=False)
    raw = buffer.getvalue()
    assert raw[128:132] != b"DICM"
    parsed = parse_instance(_write(tmp_path, raw))
    assert not parsed.part10
    assert parsed.sop_instance_uid == ds.SOPInstanceUID


def test_pydicom_deflated_sample_is_accepted(tmp_path: Path) -> None:
    parsed = parse_instance(Path(get_testdata_file("image_dfl.dcm")))
    assert parsed.transfer_syntax_uid == DeflatedExplicitVRLittleEndian


def _deflate_bomb(inflated_mib: int) -> bytes:
    """A deflated dataset of ~250 KiB that inflates to `inflated_mib` MiB of zeros."""
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = SecondaryCaptureImageStorage
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    head = io.BytesIO()
    head.write(b"\x00" * 128 + b"DICM")
    write_file_meta_info(head, meta, enforce_standard=True)
    body = Dataset()
    body.SOPClassUID = meta.MediaStorageSOPClassUID
    body.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    body.StudyInstanceUID = generate_uid()
    body.SeriesInstanceUID = generate_uid()
    plain = io.BytesIO()
    body.save_as(plain, implicit_vr=False, little_endian=True, enforce_file_format=False)
    size = inflated_mib * 1024 * 1024
    element = struct.pack("<HH2sHL", 0x0011, 0x1010, b"OB", 0, size)
    compressor = zlib.compressobj(9, zlib.DEFLATED, -zlib.MAX_WBITS)
    out = [compressor.compress(plain.getvalue() + element)]
    zeros = bytes(1024 * 1024)
    for _ in range(inflated_mib):
        out.append(compressor.compress(zeros))
    out.append(compressor.flush())
    return head.getvalue() + b"".join(out)


def test_a_deflate_bomb_is_refused_while_streaming(tmp_path: Path) -> None:
    bomb = _deflate_bomb(256)
    assert len(bomb) < 400 * 1024
    assert "inflates beyond" in _refused(_write(tmp_path, bomb))


def test_inflation_is_capped_by_absolute_size(tmp_path: Path) -> None:
    bomb = _deflate_bomb(8)
    limits = ParseLimits(max_inflated_bytes=4 * 1024 * 1024, max_inflate_ratio=10**9)
    assert "inflates beyond" in _refused(_write(tmp_path, bomb), limits)


@pytest.mark.parametrize(
    "name",
    [
        "CT_small.dcm",
        "MR_small.dcm",
        "JPEG2000.dcm",
        "rtdose.dcm",
        "SC_rgb_rle.dcm",
        "JPEG-lossy.dcm",
    ],
)
def test_pydicom_sample_files_are_accepted(name: str) -> None:
    parsed = parse_instance(Path(get_testdata_file(name)))
    assert parsed.sop_instance_uid


def test_pydicom_truncated_sample_is_refused() -> None:
    assert "truncated" in _refused(Path(get_testdata_file("MR_truncated.dcm")))
