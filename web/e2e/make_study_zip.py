"""Build a zip of DICOM files for the browser tests from pydicom's bundled test files.

A CT series of N slices (CT_small.dcm with new UIDs, positions and instance numbers), an MR
image, a study whose strings are HTML (XSS canary), and one file that is not DICOM (so the
upload reports a refusal with its reason).
Usage: make_study_zip.py OUT.zip PATIENT_ID [N]
"""

from __future__ import annotations

import io
import sys
import zipfile

from pydicom import dcmread
from pydicom.data import get_testdata_file
from pydicom.uid import generate_uid

XSS = "<img src=x onerror=window.__x=1>"
XSS_NAME = "<b>XSS</b>^<i>canary</i>"


def main() -> None:
    out, patient_id = sys.argv[1], sys.argv[2]
    slices = int(sys.argv[3]) if len(sys.argv) > 3 else 12
    study_uid, ct_series, mr_series = generate_uid(), generate_uid(), generate_uid()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        for i in range(slices):
            ds = dcmread(get_testdata_file("CT_small.dcm"))
            ds.SpecificCharacterSet = "ISO_IR 192"
            ds.PatientName = "王^小明=王^小明"
            ds.PatientID = patient_id
            ds.PatientSex = "M"
            ds.PatientBirthDate = "19800101"
            ds.AccessionNumber = f"ACC{patient_id}"
            ds.StudyDate = "20240105"
            ds.StudyDescription = "CT CHEST E2E"
            ds.StudyInstanceUID = study_uid
            ds.SeriesInstanceUID = ct_series
            ds.SeriesNumber = 2
            ds.SeriesDescription = "AXIAL"
            ds.SOPInstanceUID = generate_uid()
            ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
            ds.InstanceNumber = i + 1
            x, y, z = (float(v) for v in ds.ImagePositionPatient)
            ds.ImagePositionPatient = [x, y, z + 5.0 * i]
            ds.SliceLocation = z + 5.0 * i
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            zf.writestr(f"study/ct/IM{i + 1:04d}.dcm", buf.getvalue())
        mr = dcmread(get_testdata_file("MR_small.dcm"))
        mr.PatientName = "王^小明=王^小明"
        mr.PatientSex = "M"
        mr.SpecificCharacterSet = "ISO_IR 192"
        mr.PatientID = patient_id
        mr.StudyInstanceUID = study_uid
        mr.SeriesInstanceUID = mr_series
        mr.SeriesNumber = 3
        mr.SOPInstanceUID = generate_uid()
        mr.file_meta.MediaStorageSOPInstanceUID = mr.SOPInstanceUID
        buf = io.BytesIO()
        mr.save_as(buf, enforce_file_format=True)
        zf.writestr("study/mr/MR0001.dcm", buf.getvalue())
        zf.writestr("study/readme.txt", "not a DICOM file")
        # A second study whose strings are HTML: the UI must show them as text (SECURITY I8).
        xss = dcmread(get_testdata_file("CT_small.dcm"))
        xss.PatientName = XSS_NAME  # PN: '=' separates components, so no attributes here
        xss.PatientID = f"H{patient_id[::-1]}"  # shares no substring search with patient_id
        xss.StudyDescription = XSS
        xss.SeriesDescription = XSS
        xss.StudyInstanceUID, xss.SeriesInstanceUID = generate_uid(), generate_uid()
        xss.SOPInstanceUID = generate_uid()
        xss.file_meta.MediaStorageSOPInstanceUID = xss.SOPInstanceUID
        buf = io.BytesIO()
        xss.save_as(buf, enforce_file_format=True)
        zf.writestr("study/xss/XSS0001.dcm", buf.getvalue())


if __name__ == "__main__":
    main()
