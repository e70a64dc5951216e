"""The reading worklist: read status, claims, assignment and turnaround per study.

`set_read_status` is the one place a study's read status changes: claims, releases and
the reports domain (preliminary / final) all go through it, and it records turnaround
times and moves the matched order on (in progress, completed).

A claim is one reader's lock on a study. It expires after `worklist.claim_minutes`; an
expired claim counts as no claim, and a study whose only claim expired reads as unread
again (computed when listing, so nothing has to sweep stale claims).

The list reads one row per study: `sync_study` copies the read status and the claim's
end onto the study (orders.service copies the matched order's priority), so each view
is one range of a worklist index on `studies`, read in order until the page is full.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, case, exists, func, literal, or_, select
from sqlalchemy.orm import Session, aliased

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth import scope
from hounsfield.config import get_settings
from hounsfield.db import utcnow
from hounsfield.dicom.charset import normalize_text
from hounsfield.errors import Conflict, NotFound, PermissionDenied, Unprocessable
from hounsfield.orders import service as orders_service
from hounsfield.orders.models import PRIORITY_RANK, Order, Priority
from hounsfield.studies import queries
from hounsfield.studies.models import Patient, Series, Study
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission
from hounsfield.worklist.models import Reading, ReadStatus


class StudyNotFound(NotFound):
    """没有这个检查。"""

    code = "study_not_found"
    english = "No such study."


class ClaimedByOther(Conflict):
    """该检查正由其他医生阅片。"""

    code = "claimed_by_other"
    english = "Another reader holds this study."


class NotClaimHolder(PermissionDenied):
    """只有持有阅片锁的医生（或有分配权限的用户）可以释放它。"""

    code = "not_claim_holder"
    english = "Only the reader holding the claim (or a user who may assign) can release it."


class InvalidReadTransition(Conflict):
    """阅片状态不能这样改变。"""

    code = "invalid_read_transition"
    english = "The read status cannot change this way."


class AssigneeInvalid(Unprocessable):
    """只能分配给一位有写报告权限的在职用户。"""

    code = "assignee_invalid"
    english = "Studies can only be assigned to an active user who may write reports."


# Which read statuses may follow which. final → preliminary: an amended report reopens.
TRANSITIONS: dict[ReadStatus, frozenset[ReadStatus]] = {
    ReadStatus.unread: frozenset({ReadStatus.in_reading, ReadStatus.preliminary, ReadStatus.final}),
    ReadStatus.in_reading: frozenset({ReadStatus.unread, ReadStatus.preliminary, ReadStatus.final}),
    ReadStatus.preliminary: frozenset({ReadStatus.in_reading, ReadStatus.final}),
    ReadStatus.final: frozenset({ReadStatus.preliminary}),
}


@dataclass(frozen=True)
class WorklistFilters:
    status: ReadStatus | None = None
    priority: Priority | None = None
    modality: str | None = None
    body_part: str | None = None
    date_from: date | None = None
    date_to: date | None = None
    department: str | None = None
    source: str | None = None
    assigned_to: uuid.UUID | None = None
    accession: str | None = None
    q: str | None = None


SortKey = Literal[
    "priority", "received_at", "-received_at", "study_date", "-study_date",
    "patient_name", "-patient_name",
]  # fmt: skip


@dataclass(frozen=True)
class Row:
    """One worklist row: the study, its DICOM patient, its reading (if any), its order."""

    study: Study
    patient: Patient
    reading: Reading | None
    order: Order | None
    read_status: ReadStatus
    body_part: str
    assigned_to: User | None
    claimed_by: User | None


def _order_of_study() -> Any:
    return aliased(Order, name="matched_order")


OPEN = "open"  # Study.read_stage of a study unread or in reading (the claim tells which)


def effective_status(now: datetime) -> ColumnElement[str]:
    """The read status as shown: in reading only while its claim lasts, else unread."""
    return case(
        (and_(Study.read_stage == OPEN, Study.read_claim_until > now),
         literal(ReadStatus.in_reading.value)),
        (Study.read_stage == OPEN, literal(ReadStatus.unread.value)),
        else_=Study.read_stage,
    )  # fmt: skip


def _status_is(status: ReadStatus, now: datetime) -> ColumnElement[bool]:
    """`effective_status(now) == status`, written as one range of a worklist index."""
    if status is ReadStatus.unread:
        expired = or_(Study.read_claim_until.is_(None), Study.read_claim_until <= now)
        return and_(Study.read_stage == OPEN, expired)
    if status is ReadStatus.in_reading:
        return and_(Study.read_stage == OPEN, Study.read_claim_until > now)
    return Study.read_stage == status.value


def sync_study(study: Study, reading: Reading) -> None:
    """Copy the reading's status and claim onto the study row the worklist lists from."""
    status = ReadStatus(reading.status)
    reading_now = status is ReadStatus.in_reading
    study.read_stage = OPEN if reading_now or status is ReadStatus.unread else status.value
    study.read_claim_until = reading.claim_expires_at if reading_now else None


def department_of(order: Any) -> ColumnElement[str]:
    """The ordering department of the matched order, else the study's own department."""
    return func.coalesce(func.nullif(order.ordering_department, ""), Study.department)


def _body_part() -> Any:
    return (
        select(func.max(Series.body_part_examined))
        .where(Series.study_pk == Study.id, Series.deleted_at.is_(None))
        .correlate(Study)
        .scalar_subquery()
    )


def _words(text: str) -> str:
    return " ".join(normalize_text(text).replace("^", " ").replace("=", " ").split())


def _modality_is(value: str) -> ColumnElement[bool]:
    """A study with a series of this modality (DICOM matching, `CT\\MR` for either).

    Plain values match the study's ModalitiesInStudy (kept by ingest and deletes), which
    the counts index holds; wildcards keep the DICOM query's match over the series."""
    parts = [p.strip() for p in value.split("\\") if p.strip()]
    if not parts or any("*" in p or "?" in p for p in parts):
        return queries.conditions("STUDY", {"ModalitiesInStudy": value})[0]
    listed = literal("\\") + Study.modalities_in_study + literal("\\")
    return or_(*(listed.like(f"%\\{queries.like_pattern(p)}\\%", escape="/") for p in parts))


def _needs_order(filters: WorklistFilters) -> bool:
    return bool(filters.body_part or filters.department or filters.source)


def _conditions(filters: WorklistFilters, order: Any, now: datetime) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Study.deleted_at.is_(None), scope.visible()]
    if filters.status is not None:
        where.append(_status_is(filters.status, now))
    if filters.priority is not None:
        where.append(Study.priority_rank == PRIORITY_RANK[filters.priority])
    if filters.modality:
        where.append(_modality_is(filters.modality))
    if filters.body_part:
        part = filters.body_part.strip().upper()
        series_part = exists().where(
            Series.study_pk == Study.id,
            Series.deleted_at.is_(None),
            func.upper(Series.body_part_examined) == part,
        )
        where.append(or_(func.upper(order.body_part) == part, series_part))
    if filters.date_from is not None:
        where.append(Study.study_date >= filters.date_from)
    if filters.date_to is not None:
        where.append(Study.study_date <= filters.date_to)
    if filters.department:
        where.append(department_of(order) == filters.department)
    if filters.source:
        where.append(order.patient_source == filters.source)
    if filters.assigned_to is not None:
        where.append(Reading.assigned_to_id == filters.assigned_to)
    if filters.accession:
        pattern = queries.like_pattern(filters.accession) + "%"
        where.append(Study.accession_number.like(pattern, escape="/"))
    if filters.q and filters.q.strip():
        needle = filters.q.strip().lower()
        where.append(
            or_(
                queries.contains_text(Patient.name_search, _words(filters.q)),
                queries.contains_text(func.lower(Patient.patient_id), needle),
                queries.contains_text(func.lower(Study.accession_number), needle),
            )
        )
    return where


def _sort(sort: str) -> list[Any]:
    # Priority and arrival order are the worklist indexes' own order (no sort step).
    if sort == "priority":
        return [Study.priority_rank, Study.received_at, Study.id]
    if sort == "received_at":
        return [Study.received_at, Study.id]
    if sort == "-received_at":
        return [Study.received_at.desc(), Study.id.desc()]
    column = {"study_date": Study.study_date, "patient_name": Study.patient_name}[sort.lstrip("-")]
    if sort.startswith("-"):
        return [column.is_(None), column.desc(), Study.id.desc()]
    return [column.is_(None), column.asc(), Study.id.asc()]


def _joined(query: Any, filters: WorklistFilters, order: Any) -> Any:
    """`query` over studies, joined to the patient, order or reading only where a filter
    names them (so the planner starts from a worklist index on studies)."""
    query = query.select_from(Study)
    if filters.q and filters.q.strip():
        query = query.join(Patient, Study.patient_pk == Patient.id)
    if _needs_order(filters):
        query = query.outerjoin(order, order.study_instance_uid == Study.study_instance_uid)
    if filters.assigned_to is not None:
        query = query.join(Reading, Reading.study_pk == Study.id)
    return query


def _counts(
    session: Session, filters: WorklistFilters, order: Any, now: datetime
) -> dict[str, int]:
    """Studies per read status under every filter but the status (the tabs' counts).

    Without filters, or with a modality, this reads only the worklist counts index; it
    joins the patient, order or reading only for the filters that name them."""
    unfiltered = WorklistFilters(**{**vars(filters), "status": None})
    live_claim = func.sum(case((Study.read_claim_until > now, 1), else_=0))
    query = _joined(select(Study.read_stage, func.count(), live_claim), filters, order)
    counted = session.execute(
        query.where(*_conditions(unfiltered, order, now)).group_by(Study.read_stage)
    ).all()
    counts = {s.value: 0 for s in ReadStatus}
    for stage, n, claimed in counted:
        if stage == OPEN:
            counts[ReadStatus.in_reading.value] = int(claimed or 0)
            counts[ReadStatus.unread.value] = int(n) - int(claimed or 0)
        else:
            counts[str(stage)] = int(n)
    return counts


def list_worklist(
    session: Session,
    actor: Actor | None,
    filters: WorklistFilters,
    *,
    sort: str = "priority",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[Row], int, dict[str, int]]:
    """One page of the worklist, its total and the count per read status (audited)."""
    now = utcnow()
    order = _order_of_study()
    counts = _counts(session, filters, order, now)
    total = counts[filters.status.value] if filters.status is not None else sum(counts.values())
    # The page's ids first, from the index alone; then their rows. One statement would let
    # MariaDB start the join from the smaller patients table and sort every study.
    ids = session.scalars(
        _joined(select(Study.id), filters, order)
        .where(*_conditions(filters, order, now))
        .order_by(*_sort(sort))
        .limit(limit)
        .offset(offset)
    ).all()
    page = (
        session.execute(
            select(Study, Patient, Reading, order, effective_status(now), _body_part())
            .join(Patient, Study.patient_pk == Patient.id)
            .outerjoin(Reading, Reading.study_pk == Study.id)
            .outerjoin(order, order.study_instance_uid == Study.study_instance_uid)
            .where(Study.id.in_(ids))
            .order_by(*_sort(sort))
        ).all()
        if ids
        else []
    )
    users = _users(session, [r for _s, _p, r, _o, _st, _b in page if r is not None])
    rows = [
        Row(
            study=study,
            patient=patient,
            reading=reading,
            order=matched,
            read_status=ReadStatus(read_status),
            body_part=(matched.body_part if matched and matched.body_part else body or ""),
            assigned_to=users.get(reading.assigned_to_id) if reading else None,
            claimed_by=(users.get(reading.claimed_by_id) if _live(reading, now) else None),
        )
        for study, patient, reading, matched, read_status, body in page
    ]
    used = sorted(k for k, v in vars(filters).items() if v not in (None, ""))
    audit.record_now(
        "image.query", actor, resource_type="worklist",
        detail={"filters": used, "sort": sort, "returned": len(rows), "total": total},
    )  # fmt: skip
    return rows, total, counts


def _live(reading: Reading | None, now: datetime) -> bool:
    return bool(
        reading is not None
        and reading.claimed_by_id is not None
        and reading.claim_expires_at is not None
        and reading.claim_expires_at > now
    )


def _users(session: Session, readings: list[Reading]) -> dict[uuid.UUID, User]:
    ids = {r.assigned_to_id for r in readings} | {r.claimed_by_id for r in readings}
    wanted = [i for i in ids if i is not None]
    if not wanted:
        return {}
    return {u.id: u for u in session.scalars(select(User).where(User.id.in_(wanted)))}


def _study(session: Session, study_uid: str) -> Study:
    study = session.scalar(
        select(Study).where(
            Study.study_instance_uid == study_uid, Study.deleted_at.is_(None), scope.visible()
        )
    )
    if study is None:
        scope.explain_missing(session, study_uid)
        raise StudyNotFound()
    return study


def _reading(session: Session, study: Study) -> Reading:
    """The study's reading row, locked for this transaction (created if it has none)."""
    query = select(Reading).where(Reading.study_pk == study.id).with_for_update()
    reading = session.scalar(query.execution_options(populate_existing=True))
    if reading is None:
        # Writers hold the write lock (SQLite) or lock the study row first, so two
        # first claims of one study cannot both insert.
        reading = Reading(study_pk=study.id, status=ReadStatus.unread.value)
        session.add(reading)
        session.flush()
    return reading


def _lock_study(session: Session, study_uid: str) -> Study:
    study = _study(session, study_uid)
    locked = session.scalar(
        select(Study).where(Study.id == study.id).with_for_update()
        .execution_options(populate_existing=True)
    )  # fmt: skip
    assert locked is not None
    return locked


def _holder(session: Session, reading: Reading) -> dict[str, Any]:
    user = session.get(User, reading.claimed_by_id) if reading.claimed_by_id else None
    return {
        "claimed_by": user_ref(user),
        "claim_expires_at": reading.claim_expires_at.isoformat()
        if reading.claim_expires_at
        else None,
    }


def user_ref(user: User | None) -> dict[str, str] | None:
    if user is None:
        return None
    return {"id": str(user.id), "name": user.display_name or user.username}


def _audit(session: Session, action: str, user: User, study: Study, **detail: Any) -> None:
    audit.record(
        session, action, user, resource_type="study", resource_id=study.study_instance_uid,
        patient_id=study.patient.patient_id or None, detail=detail,
    )  # fmt: skip


def claim(session: Session, user: User, study_uid: str) -> Reading:
    """Take the study for reading: one reader at a time, until the claim expires."""
    study = _lock_study(session, study_uid)
    reading = _reading(session, study)
    now = utcnow()
    if _live(reading, now) and reading.claimed_by_id != user.id:
        holder = _holder(session, reading)
        name = (holder["claimed_by"] or {}).get("name", "")
        raise ClaimedByOther(
            f"该检查正由 {name} 阅片", english=f"{name} is reading this study", details=holder
        )
    reading.claimed_by_id = user.id
    reading.claim_expires_at = now + timedelta(minutes=get_settings().worklist.claim_minutes)
    if reading.status == ReadStatus.unread.value:
        _change(session, study, reading, ReadStatus.in_reading, user)
    elif reading.status == ReadStatus.in_reading.value:
        pass  # a renewal, or a stale claim taken over: still being read
    sync_study(study, reading)
    _audit(session, "worklist.claim", user, study, until=reading.claim_expires_at.isoformat())
    session.flush()
    return reading


def release(session: Session, user: User, study_uid: str) -> Reading:
    """Give the study back: a study still in reading becomes unread again."""
    study = _lock_study(session, study_uid)
    reading = _reading(session, study)
    if _live(reading, utcnow()) and reading.claimed_by_id != user.id:
        if Permission.worklist_assign not in user.permissions:
            raise NotClaimHolder(details=_holder(session, reading))
    reading.claimed_by_id = None
    reading.claim_expires_at = None
    if reading.status == ReadStatus.in_reading.value:
        _change(session, study, reading, ReadStatus.unread, user)
    sync_study(study, reading)
    _audit(session, "worklist.release", user, study)
    session.flush()
    return reading


def assign(session: Session, user: User, study_uid: str, assignee_id: uuid.UUID | None) -> Reading:
    """Assign the study to a reader (or to nobody)."""
    study = _lock_study(session, study_uid)
    reading = _reading(session, study)
    if assignee_id is not None:
        assignee = session.get(User, assignee_id)
        if (
            assignee is None
            or not assignee.active
            or Permission.report_write not in assignee.permissions
        ):
            raise AssigneeInvalid()
    previous, reading.assigned_to_id = reading.assigned_to_id, assignee_id
    if assignee_id is not None and assignee_id != previous:
        from hounsfield.notifications import emitters  # emitters reads worklist.models

        emitters.study_assigned(session, study, assignee_id, user)
    _audit(session, "worklist.assign", user, study,
           assigned_to=str(assignee_id) if assignee_id else None)  # fmt: skip
    session.flush()
    return reading


def set_read_status(
    session: Session, study_instance_uid: str, status: ReadStatus, user: User
) -> Reading:
    """Move a study's read status (the reports domain calls this for preliminary / final).

    Refuses a move TRANSITIONS does not allow (409). Records the turnaround timestamps the
    first time a study reaches preliminary and final, ends the claim once a report exists,
    and moves the matched order on. The caller's transaction commits it.
    """
    study = _lock_study(session, study_instance_uid)
    reading = _reading(session, study)
    _change(session, study, reading, status, user)
    sync_study(study, reading)
    session.flush()
    return reading


def _change(
    session: Session, study: Study, reading: Reading, target: ReadStatus, user: User
) -> None:
    current = ReadStatus(reading.status)
    if current is ReadStatus.in_reading and not _live(reading, utcnow()):
        current = ReadStatus.unread  # an expired claim: nobody is reading it any more
    if target is current:  # nothing to move (a release after the claim expired, say)
        reading.status = target.value
        return
    if target not in TRANSITIONS[current]:
        raise InvalidReadTransition(
            f"阅片状态不能从 {current.value} 变为 {target.value}",
            english=f"A study that is {current.value} cannot become {target.value}",
            details={"from": current.value, "to": target.value},
        )
    now = utcnow()
    reading.status = target.value
    if target is ReadStatus.preliminary:
        reading.preliminary_at = reading.preliminary_at or now
        reading.reported_by_id = reading.reported_by_id or user.id
    if target is ReadStatus.final:
        reading.final_at = reading.final_at or now
        reading.final_by_id = user.id
        reading.reported_by_id = reading.reported_by_id or user.id
    if target in (ReadStatus.preliminary, ReadStatus.final):
        reading.claimed_by_id = None
        reading.claim_expires_at = None
    _audit(session, "worklist.status", user, study, status=target.value,
           previous=current.value)  # fmt: skip
    orders_service.on_read_status(session, study.study_instance_uid, target.value)
