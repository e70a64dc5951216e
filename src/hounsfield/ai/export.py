"""A run's findings as DICOM: an SR measurement report (TID 1500) and, for masks, a SEG.

Both are built by highdicom and stored into the study through the archive's one ingest
edge, so they are indexed, audited and served by WADO-RS like any other instance. Labels
have no standard codes here: they are coded in a private scheme (99HOUNSFIELD) with the
label as the code meaning.
"""

from __future__ import annotations

import hashlib
import io
from collections.abc import Callable, Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from hounsfield import __version__
from hounsfield.ai.errors import ExportFailed
from hounsfield.ai.runtime import FindingDraft, MaskResult, SourceImage
from hounsfield.ai.schemas import Manifest

SCHEME = "99HOUNSFIELD"
MANUFACTURER = "Hounsfield"
SR_SERIES_NUMBER = 9901
SEG_SERIES_NUMBER = 9902
UNITS = {"percent": hd.sr.CodedConcept("%", "UCUM", "percent"),
         "ml": hd.sr.CodedConcept("ml", "UCUM", "milliliter")}  # fmt: skip
NO_UNITS = hd.sr.CodedConcept("1", "UCUM", "no units")
IMAGING_PROCEDURE = hd.sr.CodedConcept("363679005", "SCT", "Imaging procedure")
ANATOMICAL_STRUCTURE = hd.sr.CodedConcept("91723000", "SCT", "Anatomical structure")


def concept(meaning: str) -> hd.sr.CodedConcept:
    """A private code for a label or measurement name (Code Value is at most 16 characters)."""
    value = "HF" + hashlib.sha256(meaning.encode()).hexdigest()[:12].upper()
    return hd.sr.CodedConcept(value, SCHEME, meaning[:64])


def _unit(name: str) -> hd.sr.CodedConcept:
    for suffix, unit in UNITS.items():
        if name.endswith(suffix):
            return unit
    return NO_UNITS


def _measurements(finding: FindingDraft) -> list[hd.sr.Measurement]:
    values = {"probability": finding.probability, **finding.measurements}
    return [
        hd.sr.Measurement(name=concept(name), value=float(value), unit=_unit(name))
        for name, value in values.items()
    ]


def _algorithm(manifest: Manifest) -> hd.sr.AlgorithmIdentification:
    return hd.sr.AlgorithmIdentification(name=manifest.name, version=manifest.version)


def _group(
    manifest: Manifest, finding: FindingDraft, number: int, source: Dataset | None
) -> (
    hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations
    | hd.sr.MeasurementsAndQualitativeEvaluations
):
    tracking = hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=f"AI finding {number}")
    bbox = finding.geometry.get("bbox")
    if source is not None and bbox:
        x0, y0, x1, y1 = (float(v) for v in bbox)
        polygon = np.array([[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]], dtype=np.float32)
        region = hd.sr.ImageRegion(
            graphic_type=hd.sr.GraphicTypeValues.POLYLINE, graphic_data=polygon,
            source_image=hd.sr.SourceImageForRegion.from_source_image(source),
        )  # fmt: skip
        return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
            tracking_identifier=tracking, referenced_region=region,
            finding_type=concept(finding.label), algorithm_id=_algorithm(manifest),
            measurements=_measurements(finding),
        )  # fmt: skip
    sources = [hd.sr.SourceImageForMeasurementGroup.from_source_image(source)] if source else None
    return hd.sr.MeasurementsAndQualitativeEvaluations(
        tracking_identifier=tracking, finding_type=concept(finding.label),
        algorithm_id=_algorithm(manifest), measurements=_measurements(finding),
        source_images=sources,
    )  # fmt: skip


# Type 2 attributes highdicom copies from the source images: present (maybe empty) in a
# valid image, but often left out by real devices. Copies get them as empty values.
_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID",
           "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName")  # fmt: skip


def _complete(ds: Dataset) -> Dataset:
    """A shallow copy of a source image with the copied type 2 attributes present."""
    missing = [keyword for keyword in _COPIED if keyword not in ds]
    if not missing:
        return ds
    copy = Dataset(ds)
    copy.file_meta = ds.file_meta
    for keyword in missing:
        setattr(copy, keyword, "")
    return copy


def _built(build: Callable[[], Dataset]) -> Dataset:
    """Run a highdicom constructor; what it refuses is the run's failure reason."""
    try:
        return build()
    except (ValueError, TypeError, AttributeError, KeyError) as exc:
        first = str(exc).splitlines()[0][:200] if str(exc) else type(exc).__name__
        raise ExportFailed(problem=first) from exc


def _bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()


def build_sr(
    manifest: Manifest, findings: Sequence[FindingDraft], images: Sequence[SourceImage]
) -> Dataset:
    """A Comprehensive 3D SR measurement report (TID 1500) of the findings."""
    return _built(lambda: _sr(manifest, findings, images))


def build_seg(manifest: Manifest, mask: MaskResult) -> Dataset:
    """A binary DICOM SEG of the masks, one segment per label, over the source images."""
    return _built(lambda: _seg(manifest, mask))


def _sr(
    manifest: Manifest, findings: Sequence[FindingDraft], images: Sequence[SourceImage]
) -> Dataset:
    by_uid = {image.sop_instance_uid: _complete(image.dataset) for image in images}
    observer = hd.sr.ObserverContext(
        observer_type=codes.DCM.Device,
        observer_identifying_attributes=hd.sr.DeviceObserverIdentifyingAttributes(
            uid=generate_uid(), name=manifest.name, model_name=manifest.version,
            manufacturer_name=MANUFACTURER,
        ),
    )  # fmt: skip
    groups = [
        _group(manifest, f, i + 1, by_uid.get(f.sop_instance_uid or ""))
        for i, f in enumerate(findings)
    ]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_device_context=observer),
        procedure_reported=IMAGING_PROCEDURE, imaging_measurements=groups,
    )  # fmt: skip
    evidence = [by_uid[uid] for uid in {f.sop_instance_uid for f in findings} if uid in by_uid]
    return hd.sr.Comprehensive3DSR(
        evidence=evidence or [_complete(images[0].dataset)], content=report[0],
        series_instance_uid=generate_uid(), series_number=SR_SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        series_description=f"AI {manifest.name} {manifest.version}"[:64],
    )  # fmt: skip


def _seg(manifest: Manifest, mask: MaskResult) -> Dataset:
    labels = list(mask.masks)
    pixels = np.stack([mask.masks[label] for label in labels], axis=-1).astype(np.uint8)
    algorithm = hd.AlgorithmIdentificationSequence(
        name=manifest.name, version=manifest.version, family=codes.cid7162.ArtificialIntelligence
    )
    segments = [
        hd.seg.SegmentDescription(
            segment_number=i + 1, segment_label=label[:64],
            segmented_property_category=ANATOMICAL_STRUCTURE,
            segmented_property_type=concept(label),
            algorithm_type=hd.seg.SegmentAlgorithmTypeValues.AUTOMATIC,
            algorithm_identification=algorithm,
        )
        for i, label in enumerate(labels)
    ]  # fmt: skip
    sources = [_complete(image.dataset) for image in mask.sources]
    return hd.seg.Segmentation(
        source_images=sources, pixel_array=pixels,
        segmentation_type=hd.seg.SegmentationTypeValues.BINARY, segment_descriptions=segments,
        series_instance_uid=generate_uid(), series_number=SEG_SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=1, manufacturer=MANUFACTURER,
        manufacturer_model_name=manifest.name[:64], software_versions=__version__,
        device_serial_number=manifest.version, series_description=f"AI {manifest.name}"[:64],
    )  # fmt: skip


def store(ds: Dataset, study_uid: str) -> str:
    """Store a built object into its study through the one ingest edge; its SOP UID."""
    from hounsfield.ingest.service import ingest

    outcome = ingest(_bytes(ds), origin="ai", study=study_uid)
    if not outcome.ok:
        reason = outcome.reason.code if outcome.reason else outcome.status
        raise ExportFailed(problem=reason)
    return str(ds.SOPInstanceUID)
