"""A study of pydicom's bundled compressed files, one series each (the browser decodes them).

Usage: make_codec_zip.py OUT.zip PATIENT_ID
"""

from __future__ import annotations

import io
import sys
import zipfile
from pathlib import Path

import pydicom.data
from pydicom import dcmread
from pydicom.uid import generate_uid

# Bundled with pydicom (never downloaded): file name → what it exercises.
FILES = {
    "SC_rgb_jpeg_dcmtk.dcm": "JPEG baseline (RGB)",
    "JPEG-lossy.dcm": "JPEG extended 12-bit",
    "MR_small_jp2klossless.dcm": "JPEG 2000 lossless",
    "MR_small_jpeg_ls_lossless.dcm": "JPEG-LS lossless",
    "MR_small_RLE.dcm": "RLE lossless",
    "SC_rgb_rle.dcm": "RLE (RGB)",
}


def main() -> None:
    out, patient_id = sys.argv[1], sys.argv[2]
    folder = Path(pydicom.data.__file__).parent / "test_files"
    study = generate_uid()
    with zipfile.ZipFile(out, "w") as zf:
        for number, (name, label) in enumerate(FILES.items(), start=1):
            ds = dcmread(folder / name)
            ds.PatientID, ds.PatientName = patient_id, "CODEC^TEST"
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, generate_uid()
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.SeriesNumber, ds.SeriesDescription = number, label
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            zf.writestr(f"codecs/{name}", buf.getvalue())


if __name__ == "__main__":
    main()
