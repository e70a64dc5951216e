"""A synthetic 512x512 CT series (default 300 slices, 16-bit, HU phantom) zipped for upload.

Usage: make_ct_series.py OUT.zip [SLICES] [PATIENT_ID]
"""

from __future__ import annotations

import io
import sys
import zipfile

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, generate_uid


def main() -> None:
    out = sys.argv[1]
    slices = int(sys.argv[2]) if len(sys.argv) > 2 else 300
    patient_id = sys.argv[3] if len(sys.argv) > 3 else "BENCH-CT"
    study, series = generate_uid(), generate_uid()
    yy, xx = np.mgrid[-256:256, -256:256].astype(np.float32)
    body = (xx / 200) ** 2 + (yy / 150) ** 2 <= 1
    with zipfile.ZipFile(out, "w", zipfile.ZIP_STORED) as zf:
        for i in range(slices):
            hu = np.full((512, 512), -1000, np.float32)
            hu[body] = 40
            lung_r = 60 + 30 * np.sin(i / slices * np.pi)
            for cx in (-80, 80):
                hu[(xx - cx) ** 2 + (yy + 10) ** 2 <= lung_r**2] = -850
            hu[(xx**2 + (yy - 100) ** 2) <= 20**2] = 900  # spine
            hu += np.random.default_rng(i).normal(0, 8, hu.shape).astype(np.float32)
            pixels = np.clip(hu + 1024, 0, 4095).astype(np.uint16)
            meta = FileMetaDataset()
            meta.MediaStorageSOPClassUID = CTImageStorage
            meta.MediaStorageSOPInstanceUID = generate_uid()
            meta.TransferSyntaxUID = ExplicitVRLittleEndian
            ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
            ds.SOPClassUID = CTImageStorage
            ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
            ds.StudyInstanceUID, ds.SeriesInstanceUID = study, series
            ds.PatientName, ds.PatientID = "BENCH^CT", patient_id
            ds.StudyDate, ds.Modality, ds.SeriesNumber = "20240105", "CT", 1
            ds.InstanceNumber = i + 1
            ds.ImagePositionPatient = [-250.0, -250.0, -1.25 * i]
            ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
            ds.PixelSpacing = [0.976, 0.976]
            ds.SliceThickness = 1.25
            ds.Rows = ds.Columns = 512
            ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
            ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
            ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
            ds.WindowCenter, ds.WindowWidth = 40, 400
            ds.PixelData = pixels.tobytes()
            buf = io.BytesIO()
            ds.save_as(buf, enforce_file_format=True)
            zf.writestr(f"ct/IM{i + 1:04d}.dcm", buf.getvalue())


if __name__ == "__main__":
    main()
