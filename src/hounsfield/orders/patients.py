"""What orders need from the patient domain: the facts of a record, and who a study is.

Orders name a patient record (patients.id); the DICOM side knows the patient by PatientID
+ issuer, which for a scheduled patient is the record's MRN + issuer (the Modality
Worklist hands them to the modality).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hounsfield.errors import Unprocessable
from hounsfield.orders.models import Order
from hounsfield.patients.hooks import (
    MergeHook,
    RowId,
    TimelineEntry,
    register_merge_hook,
    register_timeline_provider,
)
from hounsfield.patients.models import PatientRecord
from hounsfield.studies.models import Study, public_issuer


class PatientRecordNotFound(Unprocessable):
    """没有这个患者档案。"""

    code = "patient_not_found"
    english = "No such patient record."


@dataclass(frozen=True)
class PatientFacts:
    id: int
    mrn: str
    issuer: str
    name_alphabetic: str
    name_ideographic: str
    name_phonetic: str
    sex: str
    birth_date: date | None
    deleted: bool = False

    @property
    def dicom_name(self) -> str:
        """The DICOM PN value: `Zhang^Sanfeng=张^三丰` (alphabetic=ideographic[=phonetic])."""
        groups = (self.name_alphabetic, self.name_ideographic, self.name_phonetic)
        return "=".join(groups).rstrip("=")

    @property
    def display_name(self) -> str:
        """`张三丰 (Zhang^Sanfeng)`: the Chinese name first, the Latin form after it."""
        chinese = self.name_ideographic.replace("^", "")
        if chinese and self.name_alphabetic:
            return f"{chinese} ({self.name_alphabetic})"
        return chinese or self.name_alphabetic


def _facts(record: PatientRecord) -> PatientFacts:
    return PatientFacts(
        id=record.id, mrn=record.mrn, issuer=record.issuer,
        name_alphabetic=record.name_alphabetic, name_ideographic=record.name_ideographic,
        name_phonetic=record.name_phonetic, sex=record.sex, birth_date=record.birth_date,
        deleted=record.deleted_at is not None,
    )  # fmt: skip


def facts(session: Session, patient_id: int) -> PatientFacts:
    """The record's facts; a missing or deleted record is refused (422)."""
    record = session.get(PatientRecord, patient_id)
    if record is None or record.deleted_at is not None:
        raise PatientRecordNotFound(details={"patient_id": patient_id})
    return _facts(record)


def facts_of(session: Session, patient_ids: set[int]) -> dict[int, PatientFacts]:
    """Facts of many records at once (listing pages), deleted ones included."""
    if not patient_ids:
        return {}
    records = session.scalars(select(PatientRecord).where(PatientRecord.id.in_(patient_ids)))
    return {r.id: _facts(r) for r in records}


def record_of_study(session: Session, study: Study) -> int | None:
    """The live patient record whose MRN + issuer are the study's PatientID + issuer."""
    patient = study.patient
    if not patient.patient_id:
        return None
    return session.scalar(
        select(PatientRecord.id).where(
            PatientRecord.mrn == patient.patient_id,
            PatientRecord.issuer == public_issuer(patient.issuer_of_patient_id),
            PatientRecord.deleted_at.is_(None),
        )
    )


# -- what orders plug into the patient domain -----------------------------------------------


def _move(session: Session, source_id: int, target_id: int) -> Sequence[RowId]:
    """A merge moves the source's orders to the target (their ids, for an undo)."""
    ids = list(session.scalars(select(Order.id).where(Order.patient_id == source_id)))
    if ids:
        session.execute(update(Order).where(Order.id.in_(ids)).values(patient_id=target_id))
    return ids


def _restore(session: Session, source_id: int, ids: Sequence[RowId]) -> None:
    if ids:
        session.execute(update(Order).where(Order.id.in_(ids)).values(patient_id=source_id))


def _timeline(session: Session, patient_id: int) -> Sequence[TimelineEntry]:
    orders = session.scalars(select(Order).where(Order.patient_id == patient_id))
    return [
        TimelineEntry(
            kind="order", at=o.scheduled_at, title=f"{o.procedure} ({o.modality})", ref=str(o.id)
        )
        for o in orders
    ]


register_merge_hook(MergeHook(name="orders", move=_move, restore=_restore))
register_timeline_provider("orders", _timeline)
