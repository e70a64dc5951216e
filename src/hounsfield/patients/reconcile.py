"""Patients and arriving studies: link or create the record, flag differing demographics.

One in-transaction ingest hook (ingest/hooks.py) runs for the first instance of each new
study, and returns at once for every other instance, so the hot path of a known study
costs one attribute test. For a DICOM patient without a record it finds the record of its
PatientID + issuer or creates one from the DICOM data; for a known one it compares the
study's name, sex and birth date with the record, and a difference becomes a
reconciliation row for a person to decide. The record itself is never changed here.
"""

from __future__ import annotations

import json
from datetime import date
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.db import utcnow
from hounsfield.dicom.charset import person_name_groups
from hounsfield.errors import Conflict, NotFound
from hounsfield.ingest import hooks
from hounsfield.patients import search
from hounsfield.patients.models import PatientRecord, Reconciliation
from hounsfield.patients.service import (
    audit_change,
    get_record,
    new_record,
    refresh_terms,
    secrets_of,
)
from hounsfield.patients.validation import check_birth_date
from hounsfield.studies.models import ANONYMOUS_ISSUER_PREFIX, Study
from hounsfield.studies.models import Patient as DicomPatient

SEXES = frozenset({"M", "F", "O"})


class ReconciliationNotFound(NotFound):
    """No such reconciliation waiting."""

    code = "reconciliation_not_found"


class ReconciliationResolved(Conflict):
    """This reconciliation was already resolved."""

    code = "reconciliation_resolved"


def _dicom_demographics(study: Study) -> dict[str, Any]:
    name = person_name_groups(study.patient_name)
    return {
        "name_alphabetic": name.alphabetic[:200],
        "name_ideographic": name.ideographic[:200],
        "name_phonetic": name.phonetic[:200],
        "sex": study.patient_sex if study.patient_sex in SEXES else "",
        "birth_date": study.patient_birth_date,
    }


def differences(record: PatientRecord, dicom: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Fields both sides have, with other values (names compared in folded form)."""
    found: dict[str, dict[str, Any]] = {}
    for field, theirs in dicom.items():
        ours = getattr(record, field)
        if theirs in (None, "") or ours in (None, ""):
            continue
        same = (
            search.fold(ours) == search.fold(theirs)
            if field.startswith("name_")
            else ours == theirs
        )
        if not same:
            shown = [v.isoformat() if isinstance(v, date) else v for v in (ours, theirs)]
            found[field] = {"record": shown[0], "dicom": shown[1]}
    return found


def _record_for(
    session: Session, dicom_patient: DicomPatient, study: Study
) -> tuple[PatientRecord, bool]:
    """The record of the DICOM patient's PatientID + issuer, created if there is none."""
    record = session.scalar(
        select(PatientRecord).where(
            PatientRecord.mrn == dicom_patient.patient_id,
            PatientRecord.issuer == dicom_patient.issuer_of_patient_id,
        )
    )
    if record is not None:
        return record, False
    values = {"mrn": dicom_patient.patient_id, "issuer": dicom_patient.issuer_of_patient_id}
    record = new_record(session, {**values, **_dicom_demographics(study)}, None, None)
    audit_change(
        session,
        "patient.create",
        None,
        record,
        origin="dicom",
        study_instance_uid=study.study_instance_uid,
    )
    return record, True


def _flag(session: Session, record: PatientRecord, study: Study) -> None:
    found = differences(record, _dicom_demographics(study))
    if not found:
        return
    exists = session.scalar(
        select(func.count()).where(
            Reconciliation.patient_id == record.id,
            Reconciliation.study_instance_uid == study.study_instance_uid,
        )
    )
    if not exists:
        session.add(
            Reconciliation(
                patient_id=record.id,
                study_instance_uid=study.study_instance_uid,
                differences=json.dumps(found, ensure_ascii=False, sort_keys=True),
            )
        )


def link_study(session: Session, dicom_patient: DicomPatient, study: Study) -> None:
    """Give a new study's DICOM patient its record, and flag differing demographics."""
    if not dicom_patient.patient_id or dicom_patient.issuer_of_patient_id.startswith(
        ANONYMOUS_ISSUER_PREFIX
    ):
        return  # anonymous: nothing to link it to
    if dicom_patient.patient_record_id is None:
        record, created = _record_for(session, dicom_patient, study)
        dicom_patient.patient_record_id = record.id
        if created:
            session.flush()
            return  # made from this very study: nothing can differ
    else:
        found = session.get(PatientRecord, dicom_patient.patient_record_id)
        if found is None or found.deleted_at is not None:
            return
        record = found
    _flag(session, record, study)
    session.flush()


@hooks.on_indexed
def _on_indexed(session: Session, event: hooks.Stored) -> None:
    if not event.new_study:
        return
    dicom_patient = session.get(DicomPatient, event.patient_pk)
    study = session.get(Study, event.study_pk)
    if dicom_patient is not None and study is not None:
        link_study(session, dicom_patient, study)


# -- the reconciliation list -----------------------------------------------------------


def list_open(
    session: Session, actor: Actor | None, *, limit: int, offset: int
) -> tuple[list[Reconciliation], int]:
    where = Reconciliation.resolved_at.is_(None)
    total = session.scalar(select(func.count(Reconciliation.id)).where(where)) or 0
    rows = session.scalars(
        select(Reconciliation)
        .where(where)
        .order_by(Reconciliation.created_at.desc(), Reconciliation.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    audit.record_now(
        "patient.query",
        actor,
        resource_type="patient",
        detail={
            "part": "reconciliation",
            "total": total,
            "patient_ids": sorted({r.patient_id for r in rows}),
        },
    )
    return list(rows), int(total)


def resolve(
    session: Session, actor: Actor | None, item_id: int, action: str, *, english: bool = False
) -> Reconciliation:
    """keep_record: the record stays as it is; accept_dicom: it takes the study's values."""
    item = session.scalar(
        select(Reconciliation).where(Reconciliation.id == item_id).with_for_update()
    )
    if item is None:
        raise ReconciliationNotFound()
    if item.resolved_at is not None:
        raise ReconciliationResolved()
    record = get_record(session, item.patient_id, lock=True)
    changed: list[str] = []
    if action == "accept_dicom":
        for field, values in json.loads(item.differences).items():
            value = values["dicom"]
            setattr(record, field, date.fromisoformat(value) if field == "birth_date" else value)
            changed.append(field)
        check_birth_date(secrets_of(record)[0], record.birth_date, english=english)
        record.version += 1
        refresh_terms(session, record)
    item.resolved_at, item.resolution = utcnow(), action
    audit_change(
        session,
        "patient.reconcile",
        actor,
        record,
        reconciliation_id=item.id,
        resolution=action,
        fields=sorted(changed),
    )
    return item
