"""Transcoding on the way out: decompress to Explicit VR LE, lossless compression, the
lossy history kept, GDCM as the last-resort decoder. Results are checked with dciodvfy."""

from __future__ import annotations

import io
import subprocess
import warnings
from pathlib import Path

import numpy as np
import pydicom
import pytest
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.pixels.utils import pixel_array

from hounsfield.dicom import transcode

ELE = "1.2.840.10008.1.2.1"
ILE = "1.2.840.10008.1.2"
RLE = "1.2.840.10008.1.2.5"
JLS = "1.2.840.10008.1.2.4.80"
J2K = "1.2.840.10008.1.2.4.90"


def sample(name: str) -> Dataset:
    path = get_testdata_file(name)
    assert path is not None
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(path)


def reread(data: bytes) -> Dataset:
    return pydicom.dcmread(io.BytesIO(data))


def dciodvfy_errors(data: bytes, tmp_path: Path) -> set[str]:
    path = tmp_path / "object.dcm"
    path.write_bytes(data)
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return {line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


@pytest.mark.parametrize("target", [ELE, ILE, RLE, JLS, J2K])
def test_lossless_targets_keep_every_pixel(target: str, tmp_path: Path) -> None:
    ds = sample("CT_small.dcm")
    original = ds.pixel_array.copy()
    out = transcode.to_bytes(transcode.transcode(ds, target))
    back = reread(out)
    assert back.file_meta.TransferSyntaxUID == target
    assert np.array_equal(back.pixel_array, original)
    assert "LossyImageCompression" not in back or back.LossyImageCompression == "00"
    path = get_testdata_file("CT_small.dcm")
    assert path is not None
    assert dciodvfy_errors(out, tmp_path) <= dciodvfy_errors(Path(path).read_bytes(), tmp_path)


def test_decompressing_jpeg_baseline_keeps_it_marked_lossy(tmp_path: Path) -> None:
    ds = sample("SC_rgb_jpeg_dcmtk.dcm")
    for keyword in ("LossyImageCompression", "LossyImageCompressionRatio",
                    "LossyImageCompressionMethod"):  # fmt: skip
        ds.pop(keyword, None)  # the header does not say so itself
    out = transcode.transcode(ds, ELE)
    assert out.LossyImageCompression == "01"
    assert out.LossyImageCompressionMethod == "ISO_10918_1"
    assert float(out.LossyImageCompressionRatio) > 1
    assert out.PhotometricInterpretation == "RGB"
    assert ds.file_meta.TransferSyntaxUID == "1.2.840.10008.1.2.4.50"  # input untouched
    # re-compressed losslessly, it still says it was lossy
    again = reread(transcode.to_bytes(transcode.transcode(out, RLE)))
    assert again.LossyImageCompression == "01"
    assert not dciodvfy_errors(transcode.to_bytes(out), tmp_path)


def test_existing_ratio_and_method_are_kept() -> None:
    ds = sample("JPEG2000.dcm")  # JPEG 2000 (lossy allowed), ratio 2097 in the header
    out = transcode.transcode(ds, ELE)
    assert out.LossyImageCompression == "01"
    assert float(out.LossyImageCompressionRatio) == 2097
    assert out.LossyImageCompressionMethod == "ISO_15444_1"


def test_gdcm_decodes_what_pydicom_cannot() -> None:
    ds = sample("JPEG-lossy.dcm")  # 12-bit JPEG Extended with a misplaced marker
    with pytest.raises(Exception, match="Unable to decode"):
        pixel_array(ds)
    decoded = transcode.decode(ds)
    reference = sample("JPGExtended.dcm").pixel_array  # the same image, well-formed
    assert decoded.shape == reference.shape
    assert np.abs(decoded.astype(int) - reference).mean() < 0.1
    out = reread(transcode.to_bytes(transcode.transcode(ds, ELE)))
    assert np.array_equal(out.pixel_array, decoded)
    assert out.LossyImageCompression == "01"


def test_undecodable_pixel_data_is_a_clear_error() -> None:
    ds = sample("JPEG2000-embedded-sequence-delimiter.dcm")
    with pytest.raises(transcode.TranscodeError, match="cannot be decoded"):
        transcode.transcode(ds, ELE)


def test_big_endian_ow_pixels_are_byte_swapped(tmp_path: Path) -> None:
    ds = sample("SC_rgb_small_odd_big_endian.dcm")  # 8-bit RGB in OW, odd length
    expected = ds.pixel_array.copy()
    out = transcode.to_bytes(transcode.transcode(ds, ELE))
    back = reread(out)
    assert back.file_meta.TransferSyntaxUID == ELE
    assert np.array_equal(back.pixel_array, expected)
    assert back.PixelData[: expected.size] == expected.tobytes()


def test_choose_prefers_the_stored_syntax_then_the_peer_order() -> None:
    assert transcode.choose(RLE, [ELE, RLE]) == RLE
    assert transcode.choose("1.2.840.10008.1.2.4.50", [ILE, ELE]) == ILE
    assert transcode.choose(ELE, [JLS, RLE]) == JLS
    # lossy targets are never produced
    assert transcode.choose(ELE, ["1.2.840.10008.1.2.4.50"]) is None
    with pytest.raises(transcode.TranscodeError):
        transcode.transcode(sample("CT_small.dcm"), "1.2.840.10008.1.2.4.50")


def test_an_instance_without_pixels_transcodes() -> None:
    ds = sample("CT_small.dcm")
    del ds.PixelData
    out = reread(transcode.to_bytes(transcode.transcode(ds, ILE)))
    assert out.file_meta.TransferSyntaxUID == ILE
    assert out.SOPInstanceUID == ds.SOPInstanceUID
