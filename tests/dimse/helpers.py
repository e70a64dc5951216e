"""Test data for the DIMSE tests: pydicom's bundled files, re-identified with fresh UIDs."""

from __future__ import annotations

from pathlib import Path

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

# One bundled file per transfer syntax we accept: name → (transfer syntax, storescu option
# proposing it).
BY_SYNTAX = {
    "CT_small.dcm": ("1.2.840.10008.1.2.1", "-xe"),  # explicit VR little endian
    "rtplan.dcm": ("1.2.840.10008.1.2", "-xi"),  # implicit VR little endian
    "image_dfl.dcm": ("1.2.840.10008.1.2.1.99", "-xd"),  # deflated explicit VR LE
    "SC_rgb_jpeg_dcmtk.dcm": ("1.2.840.10008.1.2.4.50", "-xy"),  # JPEG baseline
    "JPGExtended.dcm": ("1.2.840.10008.1.2.4.51", "-xx"),  # JPEG extended
    "SC_rgb_jpeg_gdcm.dcm": ("1.2.840.10008.1.2.4.70", "-xs"),  # JPEG lossless SV1
    "MR_small_jp2klossless.dcm": ("1.2.840.10008.1.2.4.90", "-xv"),  # JPEG 2000 lossless
    "693_J2KI.dcm": ("1.2.840.10008.1.2.4.91", "-xw"),  # JPEG 2000
    "MR_small_RLE.dcm": ("1.2.840.10008.1.2.5", "-xr"),  # RLE lossless
}


def fresh_copy(
    name: str,
    directory: Path,
    *,
    study_uid: str | None = None,
    series_uid: str | None = None,
    **attributes: object,
) -> tuple[Path, str]:
    """A copy of a bundled file with new UIDs (and any attributes given); (path, SOP UID)."""
    source = get_testdata_file(name)
    assert source is not None, name
    ds = dcmread(source)
    sop_uid = str(generate_uid())
    ds.SOPInstanceUID = sop_uid
    ds.file_meta.MediaStorageSOPInstanceUID = sop_uid
    ds.StudyInstanceUID = study_uid or str(generate_uid())
    ds.SeriesInstanceUID = series_uid or str(generate_uid())
    for keyword, value in attributes.items():
        setattr(ds, keyword, value)
    path = directory / f"{sop_uid}.dcm"
    ds.save_as(path, enforce_file_format=True)
    return path, sop_uid
