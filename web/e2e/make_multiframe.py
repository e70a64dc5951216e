"""A multi-frame grayscale image just over 100 MiB (the UI sends such files through tus).

Usage: make_multiframe.py OUT.dcm PATIENT_ID [FRAMES]
"""

from __future__ import annotations

import sys

import numpy as np
from pydicom.dataset import FileDataset, FileMetaDataset
from pydicom.uid import ExplicitVRLittleEndian, generate_uid

MULTIFRAME_GRAY_WORD_SC = "1.2.840.10008.5.1.4.1.1.7.3"


def main() -> None:
    out, patient_id = sys.argv[1], sys.argv[2]
    frames = int(sys.argv[3]) if len(sys.argv) > 3 else 205
    yy, xx = np.mgrid[0:512, 0:512]
    pixels = np.empty((frames, 512, 512), np.uint16)
    for f in range(frames):
        # A disc that moves with the frame number over a gradient: every frame differs.
        cx = 96 + (320 * f) // max(1, frames - 1)
        pixels[f] = (xx * 4 + yy * 2).astype(np.uint16)
        pixels[f][(xx - cx) ** 2 + (yy - 256) ** 2 <= 60**2] = 3500
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = MULTIFRAME_GRAY_WORD_SC
    meta.MediaStorageSOPInstanceUID = generate_uid()
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds = FileDataset(None, {}, file_meta=meta, preamble=b"\0" * 128)
    ds.SOPClassUID = MULTIFRAME_GRAY_WORD_SC
    ds.SOPInstanceUID = meta.MediaStorageSOPInstanceUID
    ds.StudyInstanceUID, ds.SeriesInstanceUID = generate_uid(), generate_uid()
    ds.PatientName, ds.PatientID = "MULTI^FRAME", patient_id
    ds.StudyDate, ds.Modality, ds.SeriesNumber, ds.InstanceNumber = "20240106", "OT", 1, 1
    ds.StudyDescription = "MULTIFRAME E2E"
    ds.NumberOfFrames = frames
    ds.Rows = ds.Columns = 512
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    ds.WindowCenter, ds.WindowWidth = 2048, 4096
    ds.PixelData = pixels.tobytes()
    ds.save_as(out, enforce_file_format=True)


if __name__ == "__main__":
    main()
