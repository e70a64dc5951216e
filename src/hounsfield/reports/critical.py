"""Critical results (危急值): flagged on a study, the first contact notified, escalated to
the next contact while nobody acknowledges within `reports.critical_ack_minutes`.

The escalation check takes `now`, so tests control the clock; the scheduler runs it every
minute (reports.escalate_critical). Every flag, notification, acknowledgement and read is
audited; notifications carry the accession number only, never the finding or a name.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.auth import scope
from hounsfield.config import get_settings
from hounsfield.db import transaction, utcnow
from hounsfield.errors import BadRequest, Conflict, NotFound, PermissionDenied
from hounsfield.notifications.service import PARAM, Kind, emit
from hounsfield.reports.models import CriticalResult
from hounsfield.reports.pdf import patient_display_name
from hounsfield.reports.service import user_names
from hounsfield.studies.models import Patient, Study
from hounsfield.users.models import User
from hounsfield.worker import celery


class CriticalResultNotFound(NotFound):
    """危急值记录不存在"""

    code = "critical_result_not_found"
    english = "Critical result not found"


class NotAContact(PermissionDenied):
    """只有危急值的联系人可以确认"""

    code = "not_a_contact"
    english = "Only a contact of the critical result can acknowledge it"


class AlreadyAcknowledged(Conflict):
    """该危急值已被确认"""

    code = "already_acknowledged"
    english = "The critical result was already acknowledged"


class UnknownContact(BadRequest):
    """联系人不存在或已停用"""

    code = "unknown_contact"
    english = "A contact does not exist or is disabled"


class StudyNotFound(NotFound):
    """检查不存在"""

    code = "study_not_found"
    english = "Study not found"


def _audit(session: Session, action: str, user: User | None, item: CriticalResult,
           **detail: object) -> None:  # fmt: skip
    audit.record(
        session, action, user, resource_type="critical_result", resource_id=str(item.id),
        detail={"study_instance_uid": item.study_instance_uid, **detail},
    )  # fmt: skip


def _notify(session: Session, item: CriticalResult) -> None:
    """Tell the current contact (in-app and the channels they chose)."""
    accession = session.scalar(
        select(Study.accession_number).where(Study.study_instance_uid == item.study_instance_uid)
    )
    safe = accession if accession and PARAM.fullmatch(accession) else "-"
    contact = uuid.UUID(item.contacts[item.contact_index])
    emit(
        session, get_settings(), Kind.critical_result, recipients=[contact],
        params={"accession": safe}, link=f"/critical/?id={item.id}",
    )  # fmt: skip
    _audit(session, "critical_result.notify", None, item, contact=str(contact),
           contact_index=item.contact_index)  # fmt: skip


def flag(
    session: Session,
    user: User,
    *,
    study_instance_uid: str,
    finding: str,
    contacts: list[uuid.UUID],
    report_id: uuid.UUID | None = None,
) -> CriticalResult:
    """Flag a critical result and notify its first contact."""
    if not _visible(session, study_instance_uid):
        scope.explain_missing(session, study_instance_uid)
        raise StudyNotFound()
    found = set(session.scalars(select(User.id).where(User.id.in_(contacts), User.active)))
    if found != set(contacts):
        raise UnknownContact()
    now = utcnow()
    item = CriticalResult(
        study_instance_uid=study_instance_uid, report_id=report_id, finding=finding,
        contacts=[str(c) for c in contacts], contact_index=0, flagged_by_id=user.id,
        flagged_at=now, notified_at=now,
    )  # fmt: skip
    session.add(item)
    session.flush()
    _audit(session, "critical_result.flag", user, item, report_id=str(report_id or ""))
    _notify(session, item)
    return item


def _visible(session: Session, study_uid: str) -> bool:
    """The study exists, is live and is within the caller's scope (A6)."""
    found = session.scalar(
        select(Study.id).where(
            Study.study_instance_uid == study_uid, Study.deleted_at.is_(None), scope.visible()
        )
    )
    return found is not None


def get(session: Session, item_id: uuid.UUID) -> CriticalResult:
    """One result; another department's is not found (a contact out of scope included)."""
    item = session.get(CriticalResult, item_id)
    if item is None or not _visible(session, item.study_instance_uid):
        raise CriticalResultNotFound()
    return item


def acknowledge(session: Session, user: User, item_id: uuid.UUID) -> CriticalResult:
    """A contact (any of them: the first to answer closes it) acknowledges the result."""
    item = get(session, item_id)
    if str(user.id) not in item.contacts:
        raise NotAContact()
    if item.acknowledged_at is not None:
        raise AlreadyAcknowledged()
    item.acknowledged_by_id, item.acknowledged_at = user.id, utcnow()
    _audit(session, "critical_result.acknowledge", user, item)
    return item


def escalate_due(session: Session, now: datetime) -> int:
    """Notify the next contact of every open result not acknowledged in time; how many.
    The last contact is reminded again each period rather than left silent."""
    minutes = get_settings().reports.critical_ack_minutes
    overdue = session.scalars(
        select(CriticalResult).where(
            CriticalResult.acknowledged_at.is_(None),
            CriticalResult.notified_at <= now - timedelta(minutes=minutes),
        )
    ).all()
    for item in overdue:
        item.contact_index = min(item.contact_index + 1, len(item.contacts) - 1)
        item.notified_at = now
        _notify(session, item)
    return len(overdue)


def list_results(
    session: Session, user: User, *, open_only: bool | None, offset: int, limit: int
) -> tuple[int, list[CriticalResult]]:
    """Visible results, newest first, and how many there are in all."""
    query = (
        select(CriticalResult)
        .join(Study, Study.study_instance_uid == CriticalResult.study_instance_uid)
        .where(Study.deleted_at.is_(None), scope.visible())
    )
    if open_only is True:
        query = query.where(CriticalResult.acknowledged_at.is_(None))
    elif open_only is False:
        query = query.where(CriticalResult.acknowledged_at.is_not(None))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = list(
        session.scalars(
            query.order_by(CriticalResult.flagged_at.desc()).offset(offset).limit(limit)
        )
    )
    audit.record_access(
        "critical_result.list", user, resource_type="critical_result", resource_id="",
        detail={"count": len(rows)},
    )  # fmt: skip
    return total, rows


def counts(session: Session) -> dict[str, int]:
    """How many visible results are open and how many closed (no patient data: not audited)."""
    acknowledged = CriticalResult.acknowledged_at.is_not(None)
    rows = session.execute(
        select(acknowledged, func.count())
        .select_from(CriticalResult)
        .join(Study, Study.study_instance_uid == CriticalResult.study_instance_uid)
        .where(Study.deleted_at.is_(None), scope.visible())
        .group_by(acknowledged)
    )
    found = {bool(closed): n for closed, n in rows}
    return {"open": found.get(False, 0), "closed": found.get(True, 0)}


@dataclass(frozen=True)
class StudyFacts:
    """What the inbox shows of a result's study and patient."""

    patient_name: str
    patient_id: str
    accession_number: str
    study_description: str
    modality: str
    study_date: date | None


@dataclass(frozen=True)
class Context:
    """Studies and user names of a list of results, read in three queries for the page."""

    studies: dict[str, StudyFacts]
    names: dict[uuid.UUID, str]


def context(session: Session, items: list[CriticalResult]) -> Context:
    uids = {i.study_instance_uid for i in items}
    studies = (
        list(session.scalars(select(Study).where(Study.study_instance_uid.in_(uids))))
        if uids
        else []
    )
    pks = {s.patient_pk for s in studies}
    patients = (
        {p.id: p for p in session.scalars(select(Patient).where(Patient.id.in_(pks)))}
        if pks
        else {}
    )
    facts = {
        s.study_instance_uid: StudyFacts(
            patient_name=patient_display_name(patients.get(s.patient_pk), s),
            patient_id=patients[s.patient_pk].patient_id if s.patient_pk in patients else "",
            accession_number=s.accession_number,
            study_description=s.study_description,
            modality=s.modalities_in_study.replace("\\", "/"),
            study_date=s.study_date,
        )
        for s in studies
    }
    people: set[uuid.UUID | None] = set()
    for i in items:
        people |= {i.flagged_by_id, i.acknowledged_by_id, uuid.UUID(i.contacts[i.contact_index])}
    return Context(studies=facts, names=user_names(session, people))


@celery.task(name="reports.escalate_critical", acks_late=True)
def escalate_critical() -> None:
    """Periodic: escalate overdue critical results."""
    with transaction(write=True) as session:
        escalate_due(session, utcnow())
