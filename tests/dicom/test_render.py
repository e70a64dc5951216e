"""Rendering: every transfer syntax pydicom ships decodes to a real image matching its reference."""

from __future__ import annotations

import io
import warnings

import numpy as np
import pydicom
import pytest
from numpy.typing import NDArray
from PIL import Image
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset
from pydicom.uid import DeflatedExplicitVRLittleEndian

from hounsfield.dicom import render

pytestmark = pytest.mark.nodb


def load(name: str) -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        path = get_testdata_file(name)
        assert path is not None, name
        return pydicom.dcmread(path)


def decode(data: bytes) -> NDArray[np.int64]:
    return np.asarray(Image.open(io.BytesIO(data))).astype(np.int64)


def rendered(name: str, **kwargs: object) -> NDArray[np.int64]:
    return decode(render.render(load(name), media_type="image/png", **kwargs))  # type: ignore[arg-type]


def assert_real_image(image: NDArray[np.int64]) -> None:
    assert image.std() > 10, "blank or flat image"
    assert image.max() - image.min() > 100


# (file, transfer syntax it carries, reference file, max mean absolute difference)
GRAY_CASES = [
    ("MR_small_implicit.dcm", "1.2.840.10008.1.2", "MR_small.dcm", 0.0),
    ("MR_small.dcm", "1.2.840.10008.1.2.1", "MR_small.dcm", 0.0),
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2", "MR_small.dcm", 0.0),
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5", "MR_small.dcm", 0.0),
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90", "MR_small.dcm", 0.0),
    ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80", "MR_small.dcm", 0.0),
]
COLOR_CASES = [
    ("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70", 0.0),  # JPEG lossless SV1
    ("SC_rgb_dcmtk_+eb+cr.dcm", "1.2.840.10008.1.2.4.50", 1.0),  # JPEG baseline, RGB
    ("SC_rgb_dcmtk_+eb+cy+n1.dcm", "1.2.840.10008.1.2.4.50", 4.0),  # JPEG baseline, YBR_FULL
    ("SC_rgb_dcmtk_+eb+cy+np.dcm", "1.2.840.10008.1.2.4.50", 4.0),  # YBR_FULL_422
    ("SC_rgb_gdcm_KY.dcm", "1.2.840.10008.1.2.4.91", 0.0),  # JPEG 2000
    ("SC_rgb_jls_lossy_line.dcm", "1.2.840.10008.1.2.4.81", 2.0),  # JPEG-LS near-lossless
    ("SC_rgb_rle_16bit.dcm", "1.2.840.10008.1.2.5", 0.0),  # 16-bit RGB
]


@pytest.mark.parametrize(("name", "syntax", "reference", "tolerance"), GRAY_CASES)
def test_grayscale_syntax_matches_uncompressed_reference(
    name: str, syntax: str, reference: str, tolerance: float
) -> None:
    assert load(name).file_meta.TransferSyntaxUID == syntax
    image, expected = rendered(name), rendered(reference)
    assert_real_image(image)
    assert image.shape == expected.shape == (64, 64)
    assert np.abs(image - expected).mean() <= tolerance


@pytest.mark.parametrize(("name", "syntax", "tolerance"), COLOR_CASES)
def test_color_syntax_matches_rle_reference(name: str, syntax: str, tolerance: float) -> None:
    assert load(name).file_meta.TransferSyntaxUID == syntax
    image, expected = rendered(name), rendered("SC_rgb_rle.dcm")
    assert image.shape == expected.shape == (100, 100, 3)
    assert_real_image(image)
    assert np.abs(image - expected).mean() <= tolerance


def test_deflate_matches_explicit_little_endian(tmp_path: object) -> None:
    ds = load("MR_small.dcm")
    out = io.BytesIO()
    ds.file_meta.TransferSyntaxUID = DeflatedExplicitVRLittleEndian
    ds.save_as(out, enforce_file_format=True)
    deflated = pydicom.dcmread(io.BytesIO(out.getvalue()))
    assert deflated.file_meta.TransferSyntaxUID == DeflatedExplicitVRLittleEndian
    image = decode(render.render(deflated, media_type="image/png"))
    assert np.array_equal(image, rendered("MR_small.dcm"))
    assert_real_image(rendered("image_dfl.dcm"))


@pytest.mark.parametrize(
    ("name", "syntax"),
    [
        ("JPGExtended.dcm", "1.2.840.10008.1.2.4.51"),  # JPEG extended 12-bit
        ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),  # JPEG 2000 lossy
        ("693_J2KI.dcm", "1.2.840.10008.1.2.4.91"),
        ("JPEGLSNearLossless_16.dcm", "1.2.840.10008.1.2.4.81"),
        ("CT_small.dcm", "1.2.840.10008.1.2.1"),
    ],
)
def test_lossy_and_16_bit_grayscale_render_non_blank(name: str, syntax: str) -> None:
    ds = load(name)
    assert ds.file_meta.TransferSyntaxUID == syntax
    image = rendered(name)
    assert image.shape == (ds.Rows, ds.Columns)
    assert_real_image(image)


def test_jpeg_2000_lossy_close_to_jpeg_extended_of_same_image() -> None:
    lossy, extended = rendered("JPEG2000.dcm"), rendered("JPGExtended.dcm")
    assert np.corrcoef(lossy.ravel(), extended.ravel())[0, 1] > 0.9


def test_multiframe_picks_the_requested_frame() -> None:
    first = rendered("examples_ybr_color.dcm", frame=1)
    last = rendered("examples_ybr_color.dcm", frame=30)
    assert first.shape == last.shape == (240, 320, 3)
    assert not np.array_equal(first, last)
    with pytest.raises(render.RenderError, match="out of range"):
        render.render(load("examples_ybr_color.dcm"), frame=31)
    dose = [rendered("rtdose.dcm", frame=n) for n in (1, 15)]
    assert not np.array_equal(dose[0], dose[1])
    two = [rendered("SC_rgb_rle_2frame.dcm", frame=n) for n in (1, 2)]
    assert not np.array_equal(two[0], two[1])


def test_palette_color_becomes_rgb() -> None:
    image = rendered("examples_palette.dcm")
    assert image.shape == (350, 800, 3)
    assert_real_image(image)
    # a palette maps gray levels to colours: some pixels are not gray
    assert (np.abs(image[..., 0] - image[..., 2]) > 20).any()


def test_window_override_and_presets_change_the_image() -> None:
    default = rendered("CT_small.dcm")
    lung = rendered("CT_small.dcm", window=render.PRESETS["lung"])
    bone = rendered("CT_small.dcm", window=render.parse_window("400,1800,linear"))
    assert not np.array_equal(default, lung)
    assert not np.array_equal(lung, bone)
    # a window far above every value renders black, far below renders white
    assert rendered("CT_small.dcm", window=render.Window(50_000, 10)).max() == 0
    assert rendered("CT_small.dcm", window=render.Window(-50_000, 10)).min() == 255
    sigmoid = rendered("CT_small.dcm", window=render.parse_window("40,400,SIGMOID"))
    assert not np.array_equal(sigmoid, rendered("CT_small.dcm", window=render.Window(40, 400)))


def test_presets_are_the_usual_ct_windows() -> None:
    assert render.preset_names() == {
        "lung": (-600, 1500),
        "mediastinum": (40, 400),
        "bone": (400, 1800),
        "brain": (40, 80),
        "abdomen": (60, 400),
    }


def test_rescale_is_applied_before_the_window() -> None:
    ds = load("CT_small.dcm")
    window = render.Window(40, 400)
    before = decode(render.render(ds, window=window, media_type="image/png"))
    ds.RescaleIntercept = float(ds.get("RescaleIntercept", 0)) + 1000
    after = decode(render.render(ds, window=window, media_type="image/png"))
    assert after.mean() > before.mean()


def test_monochrome1_is_inverted() -> None:
    ds = load("MR_small.dcm")
    normal = decode(render.render(ds, media_type="image/png"))
    ds.PhotometricInterpretation = "MONOCHROME1"
    inverted = decode(render.render(ds, media_type="image/png"))
    assert np.abs((255 - normal) - inverted).max() <= 1


def test_multi_valued_window_uses_the_first_pair() -> None:
    ds = load("CT_small.dcm")
    ds.WindowCenter, ds.WindowWidth = [40, 400], [400, 1800]
    first = decode(render.render(ds, media_type="image/png"))
    ds.WindowCenter, ds.WindowWidth = 40, 400
    assert np.array_equal(first, decode(render.render(ds, media_type="image/png")))


def test_voi_lut_sequence_is_used() -> None:
    ds = load("MR_small.dcm")
    item = Dataset()
    item.LUTDescriptor = [256, 0, 8]
    item.LUTData = list(range(255, -1, -1))  # inverting LUT over stored values 0..255
    ds.VOILUTSequence = [item]
    for keyword in ("WindowCenter", "WindowWidth"):
        if keyword in ds:
            delattr(ds, keyword)
    image = decode(render.render(ds, media_type="image/png"))
    arr = ds.pixel_array
    # pixels with larger stored values (all ≥255 here map to LUT's last entry 0) are darkest
    assert image[arr == arr.max()].max() == 0
    assert image[arr == arr.min()].min() > 0


def test_modality_lut_sequence_is_used() -> None:
    ds = load("MR_small.dcm")
    item = Dataset()
    item.LUTDescriptor = [4096, 0, 16]
    item.LUTData = [4095 - v for v in range(4096)]
    item.ModalityLUTType = "US"
    ds.ModalityLUTSequence = [item]
    plain = rendered("MR_small.dcm")
    image = decode(render.render(ds, media_type="image/png", window=render.Window(2048, 4096)))
    # the LUT reverses the ordering of gray levels
    assert np.corrcoef(image.ravel(), plain.ravel())[0, 1] < -0.9


def test_viewport_keeps_aspect_ratio_and_jpeg_is_jpeg() -> None:
    data = render.render(
        load("JPEG2000.dcm"), viewport=render.parse_viewport("128,128"), quality=70
    )
    assert data[:3] == b"\xff\xd8\xff"
    picture = Image.open(io.BytesIO(data))
    assert picture.size == (32, 128)  # 256×1024 scaled into 128×128
    thumb = Image.open(io.BytesIO(render.thumbnail(load("examples_ybr_color.dcm"), size=64)))
    assert max(thumb.size) == 64


@pytest.mark.parametrize("value", ["40", "a,b", "40,0", "40,400,cubic", "nan,400"])
def test_bad_window_is_refused(value: str) -> None:
    with pytest.raises(render.RenderError):
        render.parse_window(value)


@pytest.mark.parametrize("value", ["0,10", "10", "x,y", "10000,10"])
def test_bad_viewport_is_refused(value: str) -> None:
    with pytest.raises(render.RenderError):
        render.parse_viewport(value)


def test_no_pixel_data_is_a_render_error() -> None:
    with pytest.raises(render.RenderError, match="no pixel data"):
        render.render(load("rtplan.dcm"))


def test_truncated_pixel_data_is_a_render_error() -> None:
    with pytest.raises(render.RenderError, match="cannot be decoded"):
        render.render(load("MR_truncated.dcm"))
