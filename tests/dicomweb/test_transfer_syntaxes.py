"""Each transfer syntax pydicom ships ingests over STOW-RS and renders over WADO-RS."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydicom.uid import generate_uid

from hounsfield.dicom import render
from tests.dicomweb.helpers import read_dataset, sample_file

# one file per syntax (and the colour models), with the syntax it must carry
CASES = [
    ("MR_small_implicit.dcm", "1.2.840.10008.1.2"),
    ("CT_small.dcm", "1.2.840.10008.1.2.1"),
    ("MR_small_bigendian.dcm", "1.2.840.10008.1.2.2"),
    ("image_dfl.dcm", "1.2.840.10008.1.2.1.99"),
    ("SC_rgb_jpeg_dcmtk.dcm", "1.2.840.10008.1.2.4.50"),
    ("JPGExtended.dcm", "1.2.840.10008.1.2.4.51"),
    ("SC_rgb_jpeg_gdcm.dcm", "1.2.840.10008.1.2.4.70"),
    ("MR_small_jpeg_ls_lossless.dcm", "1.2.840.10008.1.2.4.80"),
    ("JPEGLSNearLossless_16.dcm", "1.2.840.10008.1.2.4.81"),
    ("MR_small_jp2klossless.dcm", "1.2.840.10008.1.2.4.90"),
    ("JPEG2000.dcm", "1.2.840.10008.1.2.4.91"),
    ("MR_small_RLE.dcm", "1.2.840.10008.1.2.5"),
    ("examples_ybr_color.dcm", "1.2.840.10008.1.2.4.50"),  # multi-frame YBR_FULL_422
    ("examples_palette.dcm", "1.2.840.10008.1.2.1"),  # PALETTE COLOR
    ("JPEG-lossy.dcm", "1.2.840.10008.1.2.4.51"),  # 12-bit; only GDCM decodes it
    ("SC_rgb_small_odd_big_endian.dcm", "1.2.840.10008.1.2.2"),  # 8-bit RGB in OW words
]


def with_required_uids(data: bytes) -> bytes:
    """A few sample files lack Study/Series UIDs, which the archive requires: add them."""
    ds = read_dataset(data)
    if "StudyInstanceUID" in ds and "SeriesInstanceUID" in ds:
        return data
    ds.StudyInstanceUID = ds.get("StudyInstanceUID") or generate_uid()
    ds.SeriesInstanceUID = ds.get("SeriesInstanceUID") or generate_uid()
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


@pytest.mark.parametrize(("name", "syntax"), CASES)
def test_syntax_ingests_and_renders(
    name: str,
    syntax: str,
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
) -> None:
    data = with_required_uids(sample_file(name))
    ds = read_dataset(data)
    assert ds.file_meta.TransferSyntaxUID == syntax
    response = stow([data])
    assert response.status_code in (200, 202), response.text
    assert "00081198" not in response.json()
    base = (
        f"/dicom-web/studies/{ds.StudyInstanceUID}/series/{ds.SeriesInstanceUID}"
        f"/instances/{ds.SOPInstanceUID}"
    )
    found = client.get("/dicom-web/instances", params={"SOPInstanceUID": ds.SOPInstanceUID},
                       headers=writer_headers)  # fmt: skip
    assert found.headers["X-Total-Count"] == "1"
    rendered = client.get(f"{base}/rendered", headers={**writer_headers, "Accept": "image/png"})
    assert rendered.status_code == 200, rendered.text
    image = np.asarray(Image.open(io.BytesIO(rendered.content))).astype(int)
    assert image.shape[:2] == (ds.Rows, ds.Columns)
    assert image.std() > 10  # a real picture, not a blank
    reference = np.asarray(
        Image.open(io.BytesIO(render.render(read_dataset(data), media_type="image/png")))
    ).astype(int)
    assert np.abs(image - reference).mean() <= 1
    thumbnail = client.get(f"{base}/thumbnail", headers=writer_headers)
    assert thumbnail.status_code == 200
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
