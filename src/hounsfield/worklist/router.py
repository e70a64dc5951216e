"""HTTP: /api/worklist — the radiologist's reading list, claims and assignment."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query
from sqlalchemy.orm import Session

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep, utcnow
from hounsfield.orders.models import PatientSource, Priority
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission
from hounsfield.worklist import service
from hounsfield.worklist.models import Reading, ReadStatus
from hounsfield.worklist.schemas import AssignRequest, Claim, WorklistItem, WorklistPage

router = APIRouter(prefix="/api/worklist", tags=["worklist"])

WorklistReader = Annotated[User, requires(Permission.order_read)]
Reader = Annotated[User, requires(Permission.report_write)]
Assigner = Annotated[User, requires(Permission.worklist_assign)]

StudyUID = Annotated[str, Path(max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Text = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\\]*$")]


def age(birth: date | None, on: date | None) -> str:
    """A DICOM AS value (PS3.5 6.2): years, or months / days for the youngest."""
    if birth is None:
        return ""
    at = on or utcnow().date()
    days = (at - birth).days
    if days < 0:
        return ""
    years = at.year - birth.year - ((at.month, at.day) < (birth.month, birth.day))
    if years >= 2:
        return f"{min(years, 999):03d}Y"
    months = (at.year - birth.year) * 12 + at.month - birth.month - (at.day < birth.day)
    return f"{months:03d}M" if months >= 1 else f"{days:03d}D"


def _item(row: service.Row) -> WorklistItem:
    study, order, reading = row.study, row.order, row.reading
    return WorklistItem.model_validate(
        {
            "study_instance_uid": study.study_instance_uid,
            "patient_name": study.patient_name or row.patient.patient_name,
            "patient_id": row.patient.patient_id,
            "sex": study.patient_sex,
            "birth_date": study.patient_birth_date,
            "age": age(study.patient_birth_date, study.study_date),
            "modalities": study.modalities,
            "body_part": row.body_part,
            "study_date": study.study_date,
            "study_time": study.study_time,
            "accession_number": study.accession_number,
            "description": study.study_description,
            "number_of_instances": study.number_of_instances,
            "priority": order.priority if order else Priority.routine,
            "read_status": row.read_status,
            "assigned_to": service.user_ref(row.assigned_to),
            "claimed_by": service.user_ref(row.claimed_by),
            "claim_expires_at": reading.claim_expires_at if row.claimed_by and reading else None,
            "source": order.patient_source if order else None,
            "department": (order.ordering_department if order else "") or study.department,
            "received_at": study.received_at,
        }
    )


@router.get("")
def list_worklist(
    user: WorklistReader,
    session: SessionDep,
    status: ReadStatus | None = None,
    priority: Priority | None = None,
    modality: Text = None,
    body_part: Text = None,
    date_from: date | None = None,
    date_to: date | None = None,
    department: Text = None,
    source: PatientSource | None = None,
    assigned_to: uuid.UUID | None = None,
    accession: Annotated[str | None, Query(max_length=16, pattern=r"^[^\x00-\x1f\\]*$")] = None,
    q: Annotated[str | None, Query(max_length=128, pattern=r"^[^\x00-\x1f]*$")] = None,
    sort: service.SortKey = "priority",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> WorklistPage:
    """Studies to read with their status, priority and claim; total and counts per status."""
    filters = service.WorklistFilters(
        status=status, priority=priority, modality=modality, body_part=body_part,
        date_from=date_from, date_to=date_to, department=department,
        source=source.value if source else None, assigned_to=assigned_to,
        accession=accession, q=q,
    )  # fmt: skip
    rows, total, counts = service.list_worklist(
        session, user, filters, sort=sort, limit=limit, offset=offset
    )
    return WorklistPage.model_validate(
        {"total": total, "counts": counts, "items": [_item(r) for r in rows]}
    )


def _claim(session: Session, study_uid: str, reading: Reading) -> Claim:
    def ref(user_id: uuid.UUID | None) -> dict[str, str] | None:
        return service.user_ref(session.get(User, user_id)) if user_id else None

    live = reading.claim_expires_at is not None and reading.claim_expires_at > utcnow()
    expires: datetime | None = reading.claim_expires_at if live else None
    return Claim.model_validate(
        {
            "study_instance_uid": study_uid,
            "read_status": reading.status,
            "claimed_by": ref(reading.claimed_by_id) if live else None,
            "claim_expires_at": expires,
            "assigned_to": ref(reading.assigned_to_id),
        }
    )


@router.post("/{study_uid}/claim")
def claim(study_uid: StudyUID, user: Reader, session: WriteSessionDep) -> Claim:
    """Claim the study for reading (renews one's own claim); 409 while another holds it."""
    return _claim(session, study_uid, service.claim(session, user, study_uid))


@router.delete("/{study_uid}/claim")
def release(study_uid: StudyUID, user: Reader, session: WriteSessionDep) -> Claim:
    """Release one's claim (a user who may assign can release anyone's)."""
    return _claim(session, study_uid, service.release(session, user, study_uid))


@router.post("/{study_uid}/assign")
def assign(
    study_uid: StudyUID, body: AssignRequest, user: Assigner, session: WriteSessionDep
) -> Claim:
    """Assign the study to a reader, or to nobody (null)."""
    return _claim(session, study_uid, service.assign(session, user, study_uid, body.user_id))
