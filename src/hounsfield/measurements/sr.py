"""Measurements to and from a Comprehensive 3D SR measurement report (TID 1500, highdicom).

Each annotation is a planar ROI group (TID 1410) on the image it was drawn on: its finding
type says which tool drew it (a private code, 99HOUNSFIELD), its region is the geometry in
image coordinates, its tracking identifier the arrow's text, and the values the viewer
computed are TID 1419 measurements, so other viewers read them too.
"""

from __future__ import annotations

import io
from collections.abc import Sequence

import highdicom as hd
import numpy as np
from pydicom.dataset import Dataset
from pydicom.sr.codedict import codes
from pydicom.uid import generate_uid

from hounsfield.measurements.schemas import Measurement, Value

SCHEME = "99HOUNSFIELD"
MANUFACTURER = "Hounsfield"
SERIES_NUMBER = 9903
SERIES_DESCRIPTION = "Measurements"
G = hd.sr.GraphicTypeValues
FINDING = {
    "Length": hd.sr.CodedConcept("HFLENGTH", SCHEME, "Length measurement"),
    "Angle": hd.sr.CodedConcept("HFANGLE", SCHEME, "Angle measurement"),
    "RectangleROI": hd.sr.CodedConcept("HFRECTANGLE", SCHEME, "Rectangular region"),
    "EllipticalROI": hd.sr.CodedConcept("HFELLIPSE", SCHEME, "Elliptical region"),
    "ArrowAnnotate": hd.sr.CodedConcept("HFARROW", SCHEME, "Arrow annotation"),
}
TOOL_OF = {concept.value: tool for tool, concept in FINDING.items()}
NAME = {
    "length": hd.sr.CodedConcept.from_code(codes.SCT.Length),
    "area": hd.sr.CodedConcept.from_code(codes.SCT.Area),
    "mean": hd.sr.CodedConcept.from_code(codes.SCT.Mean),
    "stdDev": hd.sr.CodedConcept.from_code(codes.SCT.StandardDeviation),
    "max": hd.sr.CodedConcept("56851009", "SCT", "Maximum"),
    "min": hd.sr.CodedConcept("255605001", "SCT", "Minimum"),
    "angle": hd.sr.CodedConcept("HFANGLEVALUE", SCHEME, "Angle"),
}
NAME_OF = {(c.value, c.scheme_designator): n for n, c in NAME.items()}
UNIT = {
    "mm": hd.sr.CodedConcept("mm", "UCUM", "millimeter"),
    "mm2": hd.sr.CodedConcept("mm2", "UCUM", "square millimeter"),
    "deg": hd.sr.CodedConcept("deg", "UCUM", "degree"),
    "HU": hd.sr.CodedConcept("[hnsf'U]", "UCUM", "Hounsfield unit"),
    "px": hd.sr.CodedConcept("{pixel}", "UCUM", "pixel"),
    "px2": hd.sr.CodedConcept("{pixel}2", "UCUM", "square pixel"),
    "1": hd.sr.CodedConcept("1", "UCUM", "no units"),
}
UNIT_OF = {c.value: u for u, c in UNIT.items()}
PROCEDURE = hd.sr.CodedConcept("363679005", "SCT", "Imaging procedure")
# Type 2 attributes highdicom copies from the evidence: present (maybe empty) in a valid
# image, often left out by real devices.
_COPIED = ("PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyID",
           "StudyDate", "StudyTime", "AccessionNumber", "ReferringPhysicianName")  # fmt: skip


def _complete(ds: Dataset) -> Dataset:
    for keyword in _COPIED:
        if keyword not in ds:
            setattr(ds, keyword, "")
    return ds


def _region_points(m: Measurement) -> tuple[hd.sr.GraphicTypeValues, list[tuple[float, float]]]:
    p = m.points
    if m.tool == "RectangleROI":  # corners TL, TR, BL, BR: a closed outline
        return G.POLYLINE, [p[0], p[1], p[3], p[2], p[0]]
    if m.tool == "EllipticalROI":  # SCOORD ELLIPSE: the major axis first
        first, second = (p[0], p[1]), (p[2], p[3])
        if _length(*first) < _length(*second):
            first, second = second, first
        return G.ELLIPSE, [*first, *second]
    return G.POLYLINE, list(p)


def _length(a: tuple[float, float], b: tuple[float, float]) -> float:
    return float(np.hypot(a[0] - b[0], a[1] - b[1]))


def _group(
    m: Measurement, number: int, source: Dataset
) -> hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations:
    graphic_type, points = _region_points(m)
    frames = [m.frame] if int(source.get("NumberOfFrames", 1) or 1) > 1 else None
    region = hd.sr.ImageRegion(
        graphic_type=graphic_type, graphic_data=np.array(points, dtype=np.float32),
        source_image=hd.sr.SourceImageForRegion.from_source_image(source, frames),
    )  # fmt: skip
    label = m.label if m.tool == "ArrowAnnotate" else f"{m.tool} {number}"
    return hd.sr.PlanarROIMeasurementsAndQualitativeEvaluations(
        tracking_identifier=hd.sr.TrackingIdentifier(uid=generate_uid(), identifier=label),
        referenced_region=region, finding_type=FINDING[m.tool],
        measurements=[
            hd.sr.Measurement(name=NAME[v.name], value=v.value, unit=UNIT[v.unit])
            for v in m.values
        ] or None,
    )  # fmt: skip


def build(
    measurements: Sequence[Measurement],
    sources: dict[str, Dataset],
    *,
    observer: str,
    series_uid: str,
    instance_number: int,
) -> Dataset:
    """The measurements as one SR; `sources` are the referenced images by SOP Instance UID."""
    complete = {uid: _complete(ds) for uid, ds in sources.items()}
    person = hd.sr.ObserverContext(
        observer_type=codes.DCM.Person,
        observer_identifying_attributes=hd.sr.PersonObserverIdentifyingAttributes(name=observer),
    )
    groups = [_group(m, i + 1, complete[m.sop_instance_uid]) for i, m in enumerate(measurements)]
    report = hd.sr.MeasurementReport(
        observation_context=hd.sr.ObservationContext(observer_person_context=person),
        procedure_reported=PROCEDURE, imaging_measurements=groups,
    )  # fmt: skip
    used = list(dict.fromkeys(m.sop_instance_uid for m in measurements))
    sr = hd.sr.Comprehensive3DSR(
        evidence=[complete[uid] for uid in used], content=report[0],
        series_instance_uid=series_uid, series_number=SERIES_NUMBER,
        sop_instance_uid=generate_uid(), instance_number=instance_number,
        manufacturer=MANUFACTURER, series_description=SERIES_DESCRIPTION,
        is_complete=True,
    )  # fmt: skip
    sr.SpecificCharacterSet = "ISO_IR 192"  # the observer's name and arrow texts are Unicode
    return sr


def _image_of(region: hd.sr.ImageRegion) -> tuple[str, int]:
    image = region.ContentSequence[0].ReferencedSOPSequence[0]
    frames = image.get("ReferencedFrameNumber")
    frame = int(frames[0] if isinstance(frames, Sequence) and not isinstance(frames, str)
                else frames or 1)  # fmt: skip
    return str(image.ReferencedSOPInstanceUID), frame


def _points(tool: str, data: np.ndarray) -> list[tuple[float, float]]:
    pts = [(float(x), float(y)) for x, y in data]
    if tool == "RectangleROI":  # back to TL, TR, BL, BR
        return [pts[0], pts[1], pts[3], pts[2]]
    return pts


def parse(sr: Dataset, series_of: dict[str, str]) -> list[Measurement]:
    """Our annotations back from one of our SRs; groups of other tools are left out."""
    document = hd.sr.Comprehensive3DSR.from_dataset(sr, copy=False)
    out: list[Measurement] = []
    content: hd.sr.MeasurementReport = document.content  # type: ignore[assignment]
    for group in content.get_planar_roi_measurement_groups():
        tool = TOOL_OF.get(str(group.finding_type.value)) if group.finding_type else None
        region = group.roi
        if tool is None or not isinstance(region, hd.sr.ImageRegion):
            continue
        sop, frame = _image_of(region)
        values = [
            Value(
                name=NAME_OF[key],
                value=float(item.value),
                unit=UNIT_OF.get(str(item.unit.value), "1"),
            )
            for item in group.get_measurements()
            if (key := (str(item.name.value), str(item.name.scheme_designator))) in NAME_OF
        ]
        label = str(group.tracking_identifier or "") if tool == "ArrowAnnotate" else ""
        out.append(Measurement(
            tool=tool, series_instance_uid=series_of.get(sop, "0"), sop_instance_uid=sop,
            frame=frame, points=_points(tool, region.value), label=label, values=values,
        ))  # fmt: skip
    return out


def to_bytes(ds: Dataset) -> bytes:
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    return buffer.getvalue()
