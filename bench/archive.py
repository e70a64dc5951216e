"""A realistic archive for the benchmarks: 20 patients × 2 studies × 3 series, 2,016 instances.

Most series are 16 CT slices of 512² (96 series), every fifth is 20 MR slices of 256² (24
series, in 24 different studies); a quarter of the patients have Chinese names, half of
those in GB18030 and half in UTF-8; the others are Latin names in Latin-1 or UTF-8. UIDs
come from the seed, so the same directory is reused between runs (generated once, ~870 MB).

    .venv/bin/python bench/archive.py /tmp/hf-archive   # generate or reuse; dciodvfy a CT, an MR
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage

PATIENTS, STUDIES, SERIES = 20, 2, 3
PREFIX = "1.2.826.0.1.3680043.10.778"
CHINESE = ["张^伟", "王^芳", "李^娜", "刘^洋", "陈^静"]  # patients 0-4: a quarter


@dataclass
class SeriesInfo:
    patient_id: str
    study_uid: str
    series_uid: str
    modality: str
    sop_uids: list[str]
    files: list[str]
    size: int  # Rows = Columns


def _uid(*parts: int) -> str:
    return PREFIX + "." + ".".join(str(p) for p in parts)


def family(patient: int) -> str:
    """The family name's ASCII form, unique per patient: QIDO name wildcards match one."""
    return f"BENCHFAM{patient:02d}"


def _patient(patient: int) -> tuple[str, str]:
    """(PatientName, SpecificCharacterSet)."""
    if patient < len(CHINESE):
        ideographic = CHINESE[patient]
        name = f"{family(patient)}^P{patient}={ideographic}"
        return name, ("GB18030" if patient % 2 == 0 else "ISO_IR 192")
    return f"{family(patient)}^Jérôme", ("ISO_IR 100" if patient % 2 else "ISO_IR 192")


def _dataset(info: SeriesInfo, patient: int, study: int, series_number: int, number: int,
             pixels: bytes) -> Dataset:  # fmt: skip
    name, charset = _patient(patient)
    mr = info.modality == "MR"
    ds = Dataset()
    ds.SpecificCharacterSet = charset
    ds.SOPClassUID = MRImageStorage if mr else CTImageStorage
    ds.SOPInstanceUID = info.sop_uids[number - 1]
    ds.ImageType = ["ORIGINAL", "PRIMARY", "AXIAL"]
    ds.StudyDate, ds.StudyTime = f"2024{(study % 12) + 1:02d}15", "101500"
    ds.ContentDate, ds.ContentTime = ds.StudyDate, ds.StudyTime
    ds.AccessionNumber = f"ACC{patient:02d}{study}"
    ds.Modality, ds.Manufacturer = info.modality, "Hounsfield bench"
    ds.ReferringPhysicianName = ""
    ds.PatientName, ds.PatientID = name, info.patient_id
    ds.PatientBirthDate, ds.PatientSex = f"19{50 + patient}0101", "MF"[patient % 2]
    ds.StudyInstanceUID, ds.SeriesInstanceUID = info.study_uid, info.series_uid
    ds.StudyID, ds.SeriesNumber, ds.InstanceNumber = str(study + 1), series_number, number
    ds.FrameOfReferenceUID = info.series_uid + ".0"
    ds.PositionReferenceIndicator = ""
    ds.PatientPosition, ds.BodyPartExamined = "HFS", "CHEST"
    ds.ImagePositionPatient = [0.0, 0.0, float(number) * 2.5]
    ds.ImageOrientationPatient = [1.0, 0.0, 0.0, 0.0, 1.0, 0.0]
    ds.SliceThickness, ds.PixelSpacing = 2.5, [0.7, 0.7]
    ds.SamplesPerPixel, ds.PhotometricInterpretation = 1, "MONOCHROME2"
    ds.Rows = ds.Columns = info.size
    ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
    if mr:
        ds.ScanningSequence, ds.SequenceVariant, ds.ScanOptions = "SE", "NONE", ""
        ds.MRAcquisitionType, ds.EchoTime, ds.RepetitionTime = "2D", 20.0, 500.0
        ds.EchoTrainLength, ds.MagneticFieldStrength = 1, 1.5
    else:
        ds.KVP, ds.AcquisitionNumber = 120, 1
        ds.RescaleIntercept, ds.RescaleSlope, ds.RescaleType = -1024, 1, "HU"
    ds.WindowCenter, ds.WindowWidth = 40, 400
    ds.PixelData = pixels
    ds.file_meta = FileMetaDataset()
    ds.file_meta.MediaStorageSOPClassUID = ds.SOPClassUID
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    ds.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return ds


def layout() -> list[SeriesInfo]:
    """The archive's series in order (no files needed): patients, studies, UIDs."""
    out = []
    for k in range(PATIENTS * STUDIES * SERIES):
        patient, study = k // (STUDIES * SERIES), k // SERIES
        mr = k % 5 == 4
        count = 20 if mr else 16
        series_uid = _uid(2, study, k)
        out.append(SeriesInfo(
            patient_id=f"BENCH{patient:02d}", study_uid=_uid(1, study), series_uid=series_uid,
            modality="MR" if mr else "CT", size=256 if mr else 512,
            sop_uids=[_uid(3, study, k, n) for n in range(1, count + 1)], files=[],
        ))  # fmt: skip
    return out


def make_archive(directory: Path) -> list[SeriesInfo]:
    """Write the archive under `directory` (kept: reused if its manifest matches)."""
    manifest = directory / "manifest.json"
    series = layout()
    if manifest.exists():
        stored = [SeriesInfo(**s) for s in json.loads(manifest.read_text())]
        if [s.sop_uids for s in stored] == [s.sop_uids for s in series] and all(
            Path(f).exists() for s in stored for f in s.files
        ):
            return stored
    directory.mkdir(parents=True, exist_ok=True)
    for k, info in enumerate(series):
        patient, study = k // (STUDIES * SERIES), k // SERIES
        rng = np.random.default_rng(
            int(hashlib.sha256(info.series_uid.encode()).hexdigest()[:8], 16)
        )
        folder = directory / f"{k:03d}"
        folder.mkdir(exist_ok=True)
        for n in range(1, len(info.sop_uids) + 1):
            pixels = rng.integers(0, 4000, info.size**2).astype(np.uint16).tobytes()
            ds = _dataset(info, patient, study, k % SERIES + 1, n, pixels)
            path = folder / f"{n:03d}.dcm"
            ds.save_as(path, enforce_file_format=True)
            info.files.append(str(path))
    manifest.write_text(json.dumps([asdict(s) for s in series]))
    return series


def validate(series: list[SeriesInfo]) -> None:
    """dciodvfy one CT and one MR (one of them GB18030); raise on an error line."""
    ct = next(s for s in series if s.modality == "CT")
    mr = next(s for s in series if s.modality == "MR")
    for path in (ct.files[0], mr.files[0]):
        out = subprocess.run(["dciodvfy", path], capture_output=True, text=True)
        errors = [line for line in out.stderr.splitlines() if line.startswith("Error")]
        print(f"dciodvfy {Path(path).parent.name}/{Path(path).name}: {len(errors)} errors")
        if errors:
            raise RuntimeError("\n".join(errors))


if __name__ == "__main__":
    archive = make_archive(Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/hf-archive"))
    print(f"{sum(len(s.files) for s in archive)} instances in {len(archive)} series")
    validate(archive)
