"""Build DICOM datasets and files for tests: make_dataset(**overrides), write_dicom(dir, ...).

Every call makes new UIDs unless given. Overrides are DICOM keywords (``PatientName="张^伟"``,
``Rows=512``); a value of ``None`` removes the attribute. Pixel data of the right size is
generated unless ``PixelData`` is given or removed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import UID, CTImageStorage, ExplicitVRLittleEndian, generate_uid

__all__ = ["make_dataset", "to_bytes", "write_dicom"]


def make_dataset(
    *, transfer_syntax: str = ExplicitVRLittleEndian, seed: int = 0, **overrides: Any
) -> Dataset:
    """A small valid CT image (16×16, 16-bit), with `overrides` applied."""
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = CTImageStorage
    ds.SOPInstanceUID = generate_uid()
    ds.StudyInstanceUID = generate_uid()
    ds.SeriesInstanceUID = generate_uid()
    ds.PatientName = "Doe^Jane"
    ds.PatientID = "P0001"
    ds.PatientBirthDate = "19700101"
    ds.PatientSex = "F"
    ds.StudyDate = "20240115"
    ds.StudyTime = "101500"
    ds.AccessionNumber = "ACC0001"
    ds.StudyID = "1"
    ds.StudyDescription = "CT CHEST"
    ds.ReferringPhysicianName = "Who^Doctor"
    ds.Modality = "CT"
    ds.SeriesNumber = 1
    ds.SeriesDescription = "AXIAL"
    ds.BodyPartExamined = "CHEST"
    ds.InstanceNumber = 1
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows = 16
    ds.Columns = 16
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.RescaleIntercept = -1024
    ds.RescaleSlope = 1
    for keyword, value in overrides.items():
        if keyword == "PixelData":
            continue
        if value is None:
            if keyword in ds:
                delattr(ds, keyword)
        else:
            setattr(ds, keyword, value)
    if "PixelData" in overrides:
        if overrides["PixelData"] is not None:
            ds.PixelData = overrides["PixelData"]
    elif "Rows" in ds and "Columns" in ds:
        frames = int(ds.get("NumberOfFrames", 1) or 1)
        samples = int(ds.get("SamplesPerPixel", 1))
        shape = (frames * int(ds.Rows) * int(ds.Columns) * samples,)
        rng = np.random.default_rng(seed)
        dtype = np.uint16 if int(ds.BitsAllocated) == 16 else np.uint8
        ds.PixelData = (
            rng.integers(0, 4000 if dtype == np.uint16 else 255, shape).astype(dtype).tobytes()
        )
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.get("SOPClassUID", CTImageStorage)
    meta.MediaStorageSOPInstanceUID = ds.get("SOPInstanceUID", generate_uid())
    meta.TransferSyntaxUID = UID(transfer_syntax)
    ds.file_meta = meta
    return ds


def to_bytes(ds: Dataset, *, preamble: bytes | None = None) -> bytes:
    """The dataset as a Part 10 file, optionally with a given 128-byte preamble."""
    import io

    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    data = buffer.getvalue()
    if preamble is not None:
        data = preamble.ljust(128, b"\x00")[:128] + data[128:]
    return data


def write_dicom(
    directory: Path, name: str | None = None, *, preamble: bytes | None = None, **overrides: Any
) -> Path:
    """Write make_dataset(**overrides) to `directory`/`name` (default: <SOPInstanceUID>.dcm)."""
    ds = make_dataset(**overrides)
    path = Path(directory) / (name or f"{ds.SOPInstanceUID}.dcm")
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(to_bytes(ds, preamble=preamble))
    return path
