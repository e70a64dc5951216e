"""Saving and loading a study's measurements.

A study has at most one live measurement SR, in a series of its own: a save stores the new
SR through the archive's ingest edge (indexed, audited, served by WADO-RS like any other
instance) and then deletes the ones it replaces (audited deletions), so other viewers see
the current set; saving none deletes them all. Saves are last-writer-wins: the viewer saves
what it shows, which includes what it loaded.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.db import transaction
from hounsfield.errors import Unprocessable
from hounsfield.measurements import sr
from hounsfield.measurements.schemas import Measurement, MeasurementsRead
from hounsfield.studies import objects, refs
from hounsfield.studies import service as studies
from hounsfield.studies.models import Series, Study
from hounsfield.studies.refs import InstanceRef

OBSERVER_NAME = "121008"  # DCM: Person Observer Name


class UnknownImage(Unprocessable):
    """测量所引用的图像不在该检查中"""

    code = "measurement_image_not_found"
    english = "A measurement refers to an image that is not in this study"


class SaveRefused(Unprocessable):
    """测量结果无法存入检查"""

    code = "measurement_save_failed"
    english = "The measurements could not be stored into the study"


@dataclass(frozen=True)
class _Study:
    images: dict[str, InstanceRef]  # the study's other instances by SOP Instance UID
    saved: list[InstanceRef]  # live measurement SRs, oldest first
    patient_id: str


def _study(session: Session, study_uid: str) -> _Study:
    stored = refs.instances(session, study_uid)  # StudyNotFound (and scope) as the archive's
    ours = set(
        session.scalars(
            select(Series.series_instance_uid)
            .join(Study, Series.study_pk == Study.id)
            .where(
                Study.study_instance_uid == study_uid, Series.deleted_at.is_(None),
                Series.modality == "SR", Series.series_number == sr.SERIES_NUMBER,
                Series.series_description == sr.SERIES_DESCRIPTION,
            )
        )
    )  # fmt: skip
    saved = sorted(
        (r for r in stored if r.series_instance_uid in ours), key=lambda r: r.instance_number or 0
    )
    images = {r.sop_instance_uid: r for r in stored if r.series_instance_uid not in ours}
    return _Study(images, saved, stored[0].patient_id)


def _observer(ds: Dataset) -> str | None:
    for item in ds.get("ContentSequence", []):
        names = item.get("ConceptNameCodeSequence")
        if names and names[0].CodeValue == OBSERVER_NAME and "PersonName" in item:
            return str(item.PersonName).rstrip("^")
    return None


def load(session: Session, actor: Actor | None, study_uid: str) -> MeasurementsRead:
    """The study's saved measurements (none saved: an empty list); an audited read."""
    study = _study(session, study_uid)
    audit.record_access(
        "image.read", actor, resource_type="study", resource_id=study_uid,
        patient_id=study.patient_id or None, detail={"measurements": True},
    )  # fmt: skip
    if not study.saved:
        return MeasurementsRead(measurements=[])
    ref = study.saved[-1]
    ds = objects.dataset(ref)
    series_of = {uid: r.series_instance_uid for uid, r in study.images.items()}
    return MeasurementsRead(
        measurements=sr.parse(ds, series_of), series_instance_uid=ref.series_instance_uid,
        sop_instance_uid=ref.sop_instance_uid, observer=_observer(ds),
    )  # fmt: skip


def _sources(study: _Study, measurements: Sequence[Measurement]) -> dict[str, Dataset]:
    out: dict[str, Dataset] = {}
    for m in measurements:
        ref = study.images.get(m.sop_instance_uid)
        if ref is None or ref.series_instance_uid != m.series_instance_uid:
            raise UnknownImage(details={"sop_instance_uid": m.sop_instance_uid})
        if m.sop_instance_uid not in out:
            out[m.sop_instance_uid] = objects.dataset(ref, stop_before_pixels=True, cache_it=False)
    return out


def save(
    actor: Actor, observer: str, study_uid: str, measurements: Sequence[Measurement]
) -> MeasurementsRead:
    """Store `measurements` as the study's measurement SR, replacing the saved one."""
    from hounsfield.ingest.service import ingest

    with transaction() as session:
        study = _study(session, study_uid)
        sources = _sources(study, measurements)
    stored: Dataset | None = None
    if measurements:
        series_uid = study.saved[-1].series_instance_uid if study.saved else str(generate_uid())
        number = (study.saved[-1].instance_number or 0) + 1 if study.saved else 1
        person = observer if "^" in observer else f"{observer}^"  # one component: a name
        stored = sr.build(
            measurements, sources, observer=person, series_uid=series_uid, instance_number=number
        )
        outcome = ingest(sr.to_bytes(stored), origin="viewer", actor=actor, study=study_uid)
        if not outcome.ok:
            raise SaveRefused(details={"reason": outcome.reason.code if outcome.reason else ""})
    with transaction(write=True) as session:
        for old in study.saved:
            studies.delete_instance(
                session, actor, study_uid, old.series_instance_uid, old.sop_instance_uid
            )
    if stored is None:
        return MeasurementsRead(measurements=[])
    return MeasurementsRead(
        measurements=list(measurements), series_instance_uid=str(stored.SeriesInstanceUID),
        sop_instance_uid=str(stored.SOPInstanceUID), observer=observer,
    )  # fmt: skip
