"""Build a zip of DICOM files for the viewer's browser tests (e2e/viewer.mjs).

Four studies of one patient, on four dates:
- CT (3 slices of pydicom's CT_small, with the file's own window 400/40) and an MR image;
- a prior CT of the same slices numbered the other way round (sync by position, not index);
- projection and other images: DX with Imager Pixel Spacing only, CR with Pixel Spacing,
  a secondary capture with no spacing at all, and an ultrasound image;
- non-image objects: a Basic Text SR whose text the viewer must show, and pydicom's RT plan.
A fifth study, of another patient (PATIENT_ID + "P": the first's priors stay four), has an
axial and a sagittal CT series of one frame of reference (reference lines, linked W/L).
Usage: make_viewer_zip.py OUT.zip PATIENT_ID   (prints the study UIDs as JSON)
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import numpy as np
from pydicom import Dataset, dcmread
from pydicom.data import get_testdata_file
from pydicom.dataset import FileMetaDataset
from pydicom.sequence import Sequence
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
DX_CLASS = "1.2.840.10008.5.1.4.1.1.1.1"  # Digital X-Ray Image Storage - For Presentation
CR_CLASS = "1.2.840.10008.5.1.4.1.1.1"
SC_CLASS = "1.2.840.10008.5.1.4.1.1.7"
US_CLASS = "1.2.840.10008.5.1.4.1.1.6.1"
BASIC_TEXT_SR = "1.2.840.10008.5.1.4.1.1.88.11"

SR_FINDING = "右肺上叶结节 8 mm"


def patient(ds: Dataset, patient_id: str, study_uid: str, description: str, date: str) -> None:
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "李^雷=李^雷"
    ds.PatientID = patient_id
    ds.PatientSex = "M"
    ds.PatientBirthDate = "19700101"
    ds.StudyDate = date
    ds.StudyTime = "090000"
    ds.StudyDescription = description
    ds.StudyInstanceUID = study_uid
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"


def new_file(sop_class: str) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = sop_class
    ds.SOPClassUID = sop_class
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def save(zf: zipfile.ZipFile, name: str, ds: Dataset) -> None:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    zf.writestr(name, buf.getvalue())


def grey_image(ds: Dataset, rows: int, cols: int) -> None:
    """A 12-bit ramp with a bright disc: tonal range, values as MONOCHROME2."""
    y, x = np.mgrid[0:rows, 0:cols]
    img = (x * 2000 // cols + y * 1000 // rows).astype(np.uint16)
    img[(x - cols // 2) ** 2 + (y - rows // 2) ** 2 < (rows // 5) ** 2] = 4000
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = img.tobytes()


def projection(sop_class: str, modality: str, number: int, **spacing: list[float]) -> Dataset:
    ds = new_file(sop_class)
    ds.Modality = modality
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = number
    ds.SeriesDescription = f"{modality} CHEST"
    ds.InstanceNumber = 1
    ds.PatientOrientation = ["L", "F"]
    grey_image(ds, 256, 256)
    for keyword, value in spacing.items():
        setattr(ds, keyword, value)
    return ds


def ultrasound(number: int) -> Dataset:
    ds = new_file(US_CLASS)
    ds.Modality = "US"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = number
    ds.InstanceNumber = 1
    rows, cols = 200, 240
    y, x = np.mgrid[0:rows, 0:cols]
    ds.Rows, ds.Columns = rows, cols
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 8, 8, 7
    ds.PixelRepresentation = 0
    ds.PixelData = ((x + y) % 256).astype(np.uint8).tobytes()
    return ds


def text_sr() -> Dataset:
    ds = new_file(BASIC_TEXT_SR)
    ds.Modality = "SR"
    ds.SeriesInstanceUID = generate_uid()
    ds.SeriesNumber = 10
    ds.InstanceNumber = 1
    ds.ContentDate, ds.ContentTime = "20240301", "100000"
    ds.CompletionFlag, ds.VerificationFlag = "COMPLETE", "UNVERIFIED"
    ds.ValueType = "CONTAINER"
    ds.ContinuityOfContent = "SEPARATE"
    ds.ConceptNameCodeSequence = Sequence([code("18748-4", "LN", "Diagnostic imaging report")])
    finding = Dataset()
    finding.RelationshipType = "CONTAINS"
    finding.ValueType = "TEXT"
    finding.ConceptNameCodeSequence = Sequence([code("121071", "DCM", "Finding")])
    finding.TextValue = SR_FINDING
    ds.ContentSequence = Sequence([finding])
    ds.ReferencedPerformedProcedureStepSequence = Sequence()
    ds.PerformedProcedureCodeSequence = Sequence()
    return ds


# Axial slices (z, mm) and sagittal slices (x, mm) of the two-plane study: 128 × 128 images
# of 1 mm pixels centred on the origin, so each axial slice cuts the sagittal images along a
# row (z = 30 at row 34, 0 at 64, -30 at 94) and each sagittal slice the axial ones along a column.
AXIAL_Z = (-30.0, 0.0, 30.0)
SAGITTAL_X = (-20.0, 0.0, 20.0)


def plane_series(
    zf: zipfile.ZipFile, patient_id: str, study: str, frame: str, number: int, sagittal: bool
) -> None:
    series = generate_uid()
    for i, offset in enumerate(SAGITTAL_X if sagittal else AXIAL_Z):
        ds = new_file(CT_CLASS)
        patient(ds, patient_id, study, "CT PLANES VIEWER", "20240301")
        ds.Modality = "CT"
        ds.SeriesInstanceUID = series
        ds.SeriesNumber = number
        ds.SeriesDescription = "SAG" if sagittal else "AX"
        ds.InstanceNumber = i + 1
        ds.FrameOfReferenceUID = frame
        if sagittal:
            # Rows run posterior (+y), columns down (-z): the image's top row is z = +64.
            ds.ImageOrientationPatient = [0.0, 1.0, 0.0, 0.0, 0.0, -1.0]
            ds.ImagePositionPatient = [offset, -64.0, 64.0]
        else:
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.ImagePositionPatient = [-64.0, -64.0, offset]
        ds.PixelSpacing = [1.0, 1.0]
        ds.SliceThickness = 1.0
        ds.RescaleIntercept, ds.RescaleSlope = 0, 1
        ds.WindowCenter, ds.WindowWidth = 1500, 3000
        grey_image(ds, 128, 128)
        save(zf, f"planes/S{number}_{i + 1}.dcm", ds)


def code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def main() -> None:
    out, patient_id = sys.argv[1], sys.argv[2]
    ct_study, xr_study, obj_study = generate_uid(), generate_uid(), generate_uid()
    prior_study, planes_study = generate_uid(), generate_uid()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        studies = ((ct_study, "20240301", False), (prior_study, "20230301", True))
        for study, date, reverse in studies:
            ct_series = generate_uid()
            for i in range(3):
                ds = dcmread(get_testdata_file("CT_small.dcm"))
                patient(ds, patient_id, study, "CT HEAD VIEWER", date)
                ds.SeriesInstanceUID = ct_series
                ds.SeriesNumber = 2
                ds.SOPInstanceUID = generate_uid()
                ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
                ds.InstanceNumber = 3 - i if reverse else i + 1
                x, y, z = (float(v) for v in ds.ImagePositionPatient)
                ds.ImagePositionPatient = [x, y, z + 5.0 * i]
                ds.WindowCenter, ds.WindowWidth = 40, 400
                save(zf, f"ct{date}/IM{i + 1}.dcm", ds)
        mr = dcmread(get_testdata_file("MR_small.dcm"))
        patient(mr, patient_id, ct_study, "CT HEAD VIEWER", "20240301")
        mr.SeriesInstanceUID, mr.SeriesNumber = generate_uid(), 3
        mr.SOPInstanceUID = generate_uid()
        mr.file_meta.MediaStorageSOPInstanceUID = mr.SOPInstanceUID
        save(zf, "mr/MR1.dcm", mr)

        xr = [
            projection(DX_CLASS, "DX", 1, ImagerPixelSpacing=[0.2, 0.2]),
            projection(CR_CLASS, "CR", 2, PixelSpacing=[0.5, 0.5], ImagerPixelSpacing=[0.6, 0.6]),
            projection(SC_CLASS, "OT", 3),
            ultrasound(4),
        ]
        for i, ds in enumerate(xr):
            patient(ds, patient_id, xr_study, "XR VIEWER", "20220301")
            save(zf, f"xr/X{i}.dcm", ds)

        sr = text_sr()
        patient(sr, patient_id, obj_study, "OBJECTS VIEWER", "20210301")
        save(zf, "obj/SR.dcm", sr)
        plan = dcmread(get_testdata_file("rtplan.dcm"))
        patient(plan, patient_id, obj_study, "OBJECTS VIEWER", "20210301")
        plan.SeriesInstanceUID, plan.SeriesNumber = generate_uid(), 11
        plan.SOPInstanceUID = generate_uid()
        plan.file_meta.MediaStorageSOPInstanceUID = plan.SOPInstanceUID
        save(zf, "obj/PLAN.dcm", plan)

        frame = generate_uid()
        plane_series(zf, f"{patient_id}P", planes_study, frame, 5, sagittal=False)
        plane_series(zf, f"{patient_id}P", planes_study, frame, 6, sagittal=True)
    uids = {"ct": ct_study, "prior": prior_study, "xr": xr_study, "objects": obj_study}
    uids["planes"] = planes_study
    print(json.dumps({**uids, "srText": SR_FINDING}))  # noqa: T201


if __name__ == "__main__":
    main()
