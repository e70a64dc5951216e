"""Build a zip of one synthetic CT volume for the MPR browser test (e2e/mpr.mjs).

64 x 64 pixels of 1 mm, 40 axial slices 2 mm apart (z = 0 ... 78 mm), one frame of reference:
- a body: a cylinder along z, radius 26 mm, value 300;
- a bright box, value 2000, off-centre but through the volume's centre (x -0.5, y -0.5, z 39):
  x in [-2, 22) (patient left), y in [-24, 2) (anterior), z in [36, 72) (superior);
- a small dot, value 3000, x in [-26, -22), y in [14, 18), z in [4, 10): in none of the three
  central planes, so that only a thick MIP slab shows it.
And a 3-slice CT series of the same study (too few slices: MPR is refused for it).
Usage: make_mpr_zip.py OUT.zip PATIENT_ID   (prints the study UID and the geometry as JSON)
"""

from __future__ import annotations

import io
import json
import sys
import zipfile

import numpy as np
from pydicom import Dataset
from pydicom.dataset import FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

CT_CLASS = "1.2.840.10008.5.1.4.1.1.2"
SIZE, SLICES, STEP = 64, 40, 2.0
ORIGIN = (-32.0, -32.0, 0.0)
BOX = {"x": (-2, 22), "y": (-24, 2), "z": (36, 72)}
DOT = {"x": (-26, -22), "y": (14, 18), "z": (4, 10)}


def volume() -> np.ndarray:
    """Values indexed [slice, row, column]: world x = -32 + column, y = -32 + row, z = 2 * slice."""
    k, r, c = np.mgrid[0:SLICES, 0:SIZE, 0:SIZE]
    x, y, z = ORIGIN[0] + c, ORIGIN[1] + r, ORIGIN[2] + STEP * k
    vol = np.zeros((SLICES, SIZE, SIZE), dtype=np.uint16)
    vol[(x + 0.5) ** 2 + (y + 0.5) ** 2 < 26**2] = 300

    def inside(box: dict[str, tuple[int, int]]) -> np.ndarray:
        return (
            (x >= box["x"][0])
            & (x < box["x"][1])
            & (y >= box["y"][0])
            & (y < box["y"][1])
            & (z >= box["z"][0])
            & (z < box["z"][1])
        )

    vol[inside(BOX)] = 2000
    vol[inside(DOT)] = 3000
    return vol


def ct_slice(
    patient_id: str, study: str, series: str, frame: str, number: int, k: int, img: np.ndarray
) -> Dataset:
    ds = Dataset()
    ds.file_meta = FileMetaDataset()
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta.MediaStorageSOPClassUID = CT_CLASS
    ds.SOPClassUID = CT_CLASS
    ds.SOPInstanceUID = generate_uid()
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "王^芳=王^芳"
    ds.PatientID = patient_id
    ds.PatientSex = "F"
    ds.PatientBirthDate = "19800101"
    ds.StudyDate, ds.StudyTime = "20240401", "100000"
    ds.StudyDescription = "CT MPR PHANTOM"
    ds.StudyInstanceUID = study
    ds.AccessionNumber = ""
    ds.ReferringPhysicianName = ""
    ds.StudyID = "1"
    ds.Modality = "CT"
    ds.SeriesInstanceUID = series
    ds.SeriesNumber = number
    ds.SeriesDescription = f"VOLUME {number}"
    ds.InstanceNumber = k + 1
    ds.FrameOfReferenceUID = frame
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.ImagePositionPatient = [ORIGIN[0], ORIGIN[1], ORIGIN[2] + STEP * k]
    ds.PixelSpacing = [1.0, 1.0]
    ds.SliceThickness = STEP
    ds.RescaleIntercept, ds.RescaleSlope = 0, 1
    ds.WindowCenter, ds.WindowWidth = 1000, 2000
    ds.Rows, ds.Columns = img.shape
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit = 16, 12, 11
    ds.PixelRepresentation = 0
    ds.PixelData = np.ascontiguousarray(img).tobytes()
    return ds


def save(zf: zipfile.ZipFile, name: str, ds: Dataset) -> None:
    buf = io.BytesIO()
    ds.save_as(buf, enforce_file_format=True)
    zf.writestr(name, buf.getvalue())


def main() -> None:
    out, patient_id = sys.argv[1], sys.argv[2]
    study, frame = generate_uid(), generate_uid()
    vol = volume()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as zf:
        series = generate_uid()
        for k in range(SLICES):
            save(zf, f"vol/IM{k + 1}.dcm", ct_slice(patient_id, study, series, frame, 2, k, vol[k]))
        short = generate_uid()
        for k in range(3):
            save(
                zf,
                f"short/IM{k + 1}.dcm",
                ct_slice(patient_id, study, short, frame, 3, 18 + k, vol[18 + k]),
            )
    geometry = {"box": BOX, "dot": DOT, "centre": [-0.5, -0.5, STEP * (SLICES - 1) / 2]}
    print(json.dumps({"study": study, "instances": SLICES + 3, **geometry}))  # noqa: T201


if __name__ == "__main__":
    main()
