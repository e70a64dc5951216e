"""Demo studies for `make run`: pydicom's bundled sample files plus generated series.

Nothing is downloaded: the samples ship inside the pydicom wheel, the rest is generated
with fixed UIDs and fixed pixels, so a second run finds only duplicates.
"""

from __future__ import annotations

import io
import logging
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import numpy as np
from pydicom.data import get_testdata_file
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    CTImageStorage,
    DigitalXRayImageStorageForPresentation,
    ExplicitVRLittleEndian,
    generate_uid,
)

from hounsfield.ingest.service import ingest

logger = logging.getLogger(__name__)

# CT, MR, JPEG 2000 (CT), multi-frame JPEG (US), JPEG 2000 (NM), multi-frame RLE colour.
SAMPLE_FILES = (
    "CT_small.dcm",
    "MR_small.dcm",
    "693_J2KI.dcm",
    "examples_ybr_color.dcm",
    "JPEG2000.dcm",
    "SC_rgb_rle_2frame.dcm",
)
CT_SLICES = 20


def _uid(*parts: object) -> str:
    return str(generate_uid(entropy_srcs=["hounsfield-demo", *map(str, parts)]))


def _meta(ds: Dataset) -> None:
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID = ds.SOPClassUID
    meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta


def _encode(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def _phantom(index: int, size: int = 512) -> np.ndarray:
    """One axial slice of a water cylinder with a bone ring and two inserts, in HU."""
    y, x = np.mgrid[0:size, 0:size].astype(np.float32)
    cx = cy = size / 2
    r = np.hypot(x - cx, y - cy)
    hu = np.full((size, size), -1000.0, dtype=np.float32)
    hu[r < size * 0.42] = 700.0  # bone ring
    hu[r < size * 0.38] = 40.0  # soft tissue
    shift = (index - CT_SLICES / 2) * 3
    hu[np.hypot(x - cx + 80, y - cy - shift) < 40] = -900.0  # air-filled insert ("lung")
    hu[np.hypot(x - cx - 90, y - cy + shift) < 25 + index] = 300.0  # contrast insert
    ramp = ((x - cx) / size * 20).astype(np.float32)  # gentle gradient: not flat images
    result: np.ndarray = np.clip(hu + ramp, -1024, 3071).astype(np.int16)
    return result


def generated_ct_series() -> Iterator[bytes]:
    """A 20-slice 512×512 CT of 张^伟 (Specific Character Set GB18030)."""
    study, series, frame = _uid("ct-study"), _uid("ct-series"), _uid("ct-frame")
    for index in range(CT_SLICES):
        ds = Dataset()
        ds.SpecificCharacterSet = "GB18030"
        ds.SOPClassUID = CTImageStorage
        ds.SOPInstanceUID = _uid("ct", index)
        ds.StudyInstanceUID = study
        ds.SeriesInstanceUID = series
        ds.FrameOfReferenceUID = frame
        ds.PatientName = "Zhang^Wei=张^伟"
        ds.PatientID = "DEMO-0001"
        ds.PatientBirthDate = "19650312"
        ds.PatientSex = "M"
        ds.StudyDate = "20240315"
        ds.StudyTime = "093000"
        ds.AccessionNumber = "DEMO-CT-1"
        ds.StudyID = "1"
        ds.StudyDescription = "胸部CT平扫 (demo)"
        ds.ReferringPhysicianName = "Li^Na=李^娜"
        ds.Modality = "CT"
        ds.SeriesNumber = 2
        ds.SeriesDescription = "Axial 5mm"
        ds.BodyPartExamined = "CHEST"
        ds.InstanceNumber = index + 1
        ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
        ds.ImagePositionPatient = [-175.0, -175.0, -50.0 + 5.0 * index]
        ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
        ds.SliceLocation = -50.0 + 5.0 * index
        ds.SliceThickness = 5.0
        ds.PixelSpacing = [0.68359375, 0.68359375]
        ds.SamplesPerPixel = 1
        ds.PhotometricInterpretation = "MONOCHROME2"
        ds.Rows = ds.Columns = 512
        ds.BitsAllocated = 16
        ds.BitsStored = 16
        ds.HighBit = 15
        ds.PixelRepresentation = 1
        ds.RescaleIntercept = 0
        ds.RescaleSlope = 1
        ds.RescaleType = "HU"
        ds.WindowCenter = [40, -600]
        ds.WindowWidth = [400, 1500]
        ds.KVP = 120
        ds.PixelData = _phantom(index).tobytes()
        _meta(ds)
        yield _encode(ds)


def _code(value: str, scheme: str, meaning: str) -> Dataset:
    item = Dataset()
    item.CodeValue, item.CodingSchemeDesignator, item.CodeMeaning = value, scheme, meaning
    return item


def generated_dx() -> bytes:
    """A 640×512 chest-like DX, patient 王^芳 in UTF-8.

    Its values rise with attenuation (body bright, lungs and air dark): MONOCHROME2. It was
    declared MONOCHROME1 once, which showed the chest inverted (issue 13.8).
    """
    y, x = np.mgrid[0:640, 0:512].astype(np.float32)
    body = np.exp(-(((x - 256) / 210) ** 4) - (((y - 340) / 300) ** 4))
    lungs = np.exp(-(((np.abs(x - 256) - 95) / 60) ** 2) - (((y - 300) / 170) ** 2))
    ribs = 0.08 * (np.sin(y / 14.0) > 0.7)
    image = 3500 * body * (1 - 0.55 * lungs) + 300 * ribs * body
    ds = Dataset()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.SOPClassUID = DigitalXRayImageStorageForPresentation
    ds.SOPInstanceUID = _uid("dx", 0)
    ds.StudyInstanceUID = _uid("dx-study")
    ds.SeriesInstanceUID = _uid("dx-series")
    ds.PatientName = "Wang^Fang=王^芳"
    ds.PatientID = "DEMO-0002"
    ds.PatientBirthDate = "19880707"
    ds.PatientSex = "F"
    ds.StudyDate = "20240402"
    ds.StudyTime = "141000"
    ds.AccessionNumber = "DEMO-DX-1"
    ds.StudyDescription = "胸部正位 (demo)"
    ds.Modality = "DX"
    ds.SeriesNumber = 1
    ds.InstanceNumber = 1
    ds.BodyPartExamined = "CHEST"
    ds.ViewPosition = "PA"
    ds.PresentationIntentType = "FOR PRESENTATION"
    ds.ImageType = ["ORIGINAL", "PRIMARY"]
    ds.ImagerPixelSpacing = [0.5, 0.5]
    ds.StudyID = "1"
    ds.ReferringPhysicianName = ""
    ds.Manufacturer = "Hounsfield demo"
    ds.DetectorType = "DIRECT"
    ds.PositionerType = ""
    ds.AcquisitionContextSequence = []
    ds.PatientOrientation = ["L", "F"]  # PA chest, shown as facing the patient
    ds.ImageLaterality = "U"
    ds.AnatomicRegionSequence = [_code("43799004", "SCT", "Chest")]
    ds.ViewCodeSequence = [_code("399348003", "SCT", "postero-anterior")]
    ds.BurnedInAnnotation = "NO"
    ds.LossyImageCompression = "00"
    # Higher values where the beam was attenuated more (bone, soft tissue): sign −1, shown bright.
    ds.PixelIntensityRelationship = "LIN"
    ds.PixelIntensityRelationshipSign = -1
    ds.PresentationLUTShape = "IDENTITY"
    ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = 0, 1, "US"
    ds.SamplesPerPixel = 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.Rows, ds.Columns = 640, 512
    ds.BitsAllocated = 16
    ds.BitsStored = 12
    ds.HighBit = 11
    ds.PixelRepresentation = 0
    ds.WindowCenter = 2000
    ds.WindowWidth = 4000
    ds.PixelData = np.clip(image, 0, 4095).astype(np.uint16).tobytes()
    _meta(ds)
    return _encode(ds)


def _sources() -> Iterator[tuple[str, Path | bytes]]:
    for name in SAMPLE_FILES:
        path = get_testdata_file(name, download=False)
        if path is None:
            logger.warning("pydicom sample %s is not installed; skipped", name)
            continue
        yield name, Path(str(path))
    for index, data in enumerate(generated_ct_series()):
        yield f"generated CT slice {index + 1}", data
    yield "generated DX", generated_dx()


def seed_demo_studies() -> Counter[str]:
    """Ingest the demo studies; returns how many were stored, duplicate or refused."""
    counts: Counter[str] = Counter()
    for name, source in _sources():
        outcome = ingest(source, origin="demo")
        if not outcome.ok:
            logger.warning("demo file %s refused: %s", name, outcome.message("en"))
            counts["refused"] += 1
            continue
        counts[outcome.status] += 1
    return counts
