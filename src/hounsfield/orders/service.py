"""Imaging orders: scheduling, the status lifecycle, and matching arriving studies.

An order is scheduled → arrived (its study came) → in progress (being read) → completed
(final report), or cancelled before it completed. Arriving studies are matched by
AccessionNumber first, then by patient + modality + scheduled date (`match_arrival`, run
after the commit of each new study); what matches nothing is listed for a technician,
who may match it by hand (`match`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth import scope
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound
from hounsfield.orders import patients as order_patients
from hounsfield.orders.models import PRIORITY_RANK, Order, OrderStatus, Priority, local_zone
from hounsfield.orders.schemas import OrderCreate, OrderUpdate
from hounsfield.studies.models import Patient, Study


class OrderNotFound(NotFound):
    """没有这个检查申请。"""

    code = "order_not_found"
    english = "No such imaging order."


class InvalidOrderTransition(Conflict):
    """检查申请的状态不能这样改变。"""

    code = "invalid_order_transition"
    english = "The order's status cannot change this way."


class StudyAlreadyMatched(Conflict):
    """该检查已对应另一个检查申请。"""

    code = "study_already_matched"
    english = "This study already answers another order."


class OrderAlreadyMatched(Conflict):
    """该检查申请已对应一个检查。"""

    code = "order_already_matched"
    english = "This order already has its study."


class OrderVersionConflict(Conflict):
    """其他人已修改该检查申请，请刷新后重试。"""

    code = "order_version_conflict"
    english = "Someone else changed this order since you read it; reload and try again."


class OrderClosed(Conflict):
    """已完成或已取消的检查申请不能再修改。"""

    code = "order_closed"
    english = "A completed or cancelled order can no longer change."


class StudyNotFound(NotFound):
    """没有这个检查。"""

    code = "study_not_found"
    english = "No such study."


TRANSITIONS: dict[OrderStatus, frozenset[OrderStatus]] = {
    OrderStatus.scheduled: frozenset({OrderStatus.arrived, OrderStatus.cancelled}),
    OrderStatus.arrived: frozenset({OrderStatus.in_progress, OrderStatus.cancelled}),
    OrderStatus.in_progress: frozenset({OrderStatus.completed, OrderStatus.cancelled}),
    OrderStatus.completed: frozenset(),
    OrderStatus.cancelled: frozenset(),
}

# Which order status a study's read status implies (the order never moves backwards).
_FROM_READ_STATUS = {
    "in_reading": OrderStatus.in_progress,
    "preliminary": OrderStatus.in_progress,
    "final": OrderStatus.completed,
}
_RANK = [OrderStatus.scheduled, OrderStatus.arrived, OrderStatus.in_progress,
         OrderStatus.completed]  # fmt: skip


@dataclass(frozen=True)
class OrderFilters:
    status: OrderStatus | None = None
    patient_id: int | None = None
    modality: str | None = None
    date_from: date | None = None
    date_to: date | None = None


def accession_for(order: Order) -> str:
    """`HF` + creation date (YYMMDD) + id in 8 digits: 16 characters, unique (models.py)."""
    return f"HF{order.created_at:%y%m%d}{order.id:08d}"


def create_order(session: Session, actor: Actor | None, data: OrderCreate) -> Order:
    """Schedule an imaging order for a registered patient; its AccessionNumber is generated."""
    facts = order_patients.facts(session, data.patient_id)
    values = data.model_dump(exclude={"accession_number"})
    order = Order(**values, status=OrderStatus.scheduled.value, created_at=utcnow())
    if data.accession_number:
        order.accession_number = data.accession_number
    session.add(order)
    session.flush()
    if order.accession_number is None:
        order.accession_number = accession_for(order)
        session.flush()
    _audit(session, "order.create", actor, order, facts.mrn)
    return order


def _audit(
    session: Session, action: str, actor: Actor | None, order: Order, mrn: str, **detail: Any
) -> None:
    audit.record(
        session, action, actor, resource_type="order", resource_id=str(order.id),
        patient_id=mrn or None, detail={"accession_number": order.accession_number, **detail},
    )  # fmt: skip


def _day_start(day: date) -> datetime:
    """Midnight of a local (hospital) day."""
    return datetime.combine(day, time.min, tzinfo=local_zone())


def _conditions(filters: OrderFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.status is not None:
        where.append(Order.status == filters.status.value)
    if filters.patient_id is not None:
        where.append(Order.patient_id == filters.patient_id)
    if filters.modality:
        where.append(Order.modality == filters.modality.strip().upper())
    if filters.date_from is not None:
        where.append(Order.scheduled_at >= _day_start(filters.date_from))
    if filters.date_to is not None:
        where.append(Order.scheduled_at < _day_start(filters.date_to + timedelta(days=1)))
    return where


def list_orders(
    session: Session, actor: Actor | None, filters: OrderFilters, *, limit: int, offset: int
) -> tuple[list[Order], int]:
    """One page of orders (soonest scheduled first) and the total (audited)."""
    where = _conditions(filters)
    total = session.scalar(select(func.count(Order.id)).where(*where)) or 0
    orders = session.scalars(
        select(Order).where(*where).order_by(Order.scheduled_at, Order.id)
        .limit(limit).offset(offset)
    ).all()  # fmt: skip
    used = sorted(k for k, v in vars(filters).items() if v not in (None, ""))
    audit.record_now(
        "order.query", actor, resource_type="order",
        detail={"filters": used, "returned": len(orders), "total": total},
    )  # fmt: skip
    return list(orders), int(total)


def _get(session: Session, order_id: int, *, lock: bool = False) -> Order:
    query = select(Order).where(Order.id == order_id)
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    order = session.scalar(query)
    if order is None:
        raise OrderNotFound()
    return order


def get_order(session: Session, actor: Actor | None, order_id: int) -> Order:
    """One order (audited as a read of its patient's data)."""
    order = _get(session, order_id)
    mrn = order_patients.facts(session, order.patient_id).mrn
    audit.record_now(
        "order.read", actor, resource_type="order", resource_id=str(order.id),
        patient_id=mrn or None,
    )  # fmt: skip
    return order


def change_status(
    session: Session, actor: Actor | None, order_id: int, target: OrderStatus
) -> Order:
    """Move an order along its lifecycle; any other move is refused (409)."""
    order = _get(session, order_id, lock=True)
    _move(order, target)
    mrn = order_patients.facts(session, order.patient_id).mrn
    _audit(session, "order.status", actor, order, mrn, status=target.value)
    session.flush()
    return order


def update_order(session: Session, actor: Actor | None, order_id: int, body: OrderUpdate) -> Order:
    """Change the fields sent, if `body.version` is the one stored (else 409); an order that
    completed or was cancelled is closed. A new priority reaches the study's worklist row."""
    order = _get(session, order_id, lock=True)
    if body.version != order.version:
        raise OrderVersionConflict(details={"current_version": order.version})
    if order.status in (OrderStatus.completed.value, OrderStatus.cancelled.value):
        raise OrderClosed(details={"status": order.status})
    sent = sorted(n for n in body.model_fields_set - {"version"} if getattr(body, n) is not None)
    for name in sent:
        value = getattr(body, name)
        setattr(order, name, value.value if isinstance(value, StrEnum) else value)
    order.version += 1
    if "priority" in sent and order.study_instance_uid is not None:
        study = session.scalar(
            select(Study).where(Study.study_instance_uid == order.study_instance_uid)
        )
        if study is not None:
            sync_priority(order, study)
    mrn = order_patients.facts(session, order.patient_id).mrn
    _audit(session, "order.update", actor, order, mrn, fields=sent)
    session.flush()
    return order


def _move(order: Order, target: OrderStatus) -> None:
    current = OrderStatus(order.status)
    if target not in TRANSITIONS[current]:
        raise InvalidOrderTransition(
            f"检查申请不能从 {current.value} 变为 {target.value}",
            english=f"An order that is {current.value} cannot become {target.value}",
            details={"from": current.value, "to": target.value},
        )
    order.status = target.value


def _link(session: Session, order: Order, study: Study) -> None:
    """Give the order its study and mark it arrived (a later order status is kept)."""
    if order.study_instance_uid is not None:
        raise OrderAlreadyMatched()
    taken = session.scalar(
        select(Order.id).where(Order.study_instance_uid == study.study_instance_uid)
    )
    if taken is not None:
        raise StudyAlreadyMatched(details={"order_id": taken})
    order.study_instance_uid = study.study_instance_uid
    sync_priority(order, study)
    if order.status == OrderStatus.scheduled.value:
        _move(order, OrderStatus.arrived)
    session.flush()


def sync_priority(order: Order, study: Study) -> None:
    """Copy the order's priority onto its study, the row the worklist sorts by."""
    study.priority_rank = PRIORITY_RANK[Priority(order.priority)]


def match(session: Session, actor: Actor | None, order_id: int, study_uid: str) -> Order:
    """Match an order to a study by hand (a technician resolving an unmatched study)."""
    order = _get(session, order_id, lock=True)
    if order.status == OrderStatus.cancelled.value:
        raise InvalidOrderTransition(details={"from": order.status, "to": "arrived"})
    study = session.scalar(
        select(Study).where(
            Study.study_instance_uid == study_uid, Study.deleted_at.is_(None), scope.visible()
        )
    )
    if study is None:
        raise StudyNotFound()
    _link(session, order, study)
    mrn = order_patients.facts(session, order.patient_id).mrn
    _audit(session, "order.match", actor, order, mrn, study_instance_uid=study_uid,
           how="manual")  # fmt: skip
    return order


_OPEN = (OrderStatus.scheduled.value, OrderStatus.arrived.value, OrderStatus.in_progress.value)


def match_arrival(session: Session, study_uid: str) -> Order | None:
    """Match a newly arrived study to its order: by AccessionNumber, else by the patient,
    a modality of the study and the scheduled date, when exactly one open order fits."""
    study = session.scalar(select(Study).where(Study.study_instance_uid == study_uid))
    if study is None or study.deleted_at is not None:
        return None
    if session.scalar(select(Order.id).where(Order.study_instance_uid == study_uid)):
        return None  # matched already (a re-run of this task)
    unmatched = (Order.study_instance_uid.is_(None), Order.status.in_(_OPEN))
    order = None
    how = "accession_number"
    if study.accession_number:
        order = session.scalar(
            select(Order)
            .where(Order.accession_number == study.accession_number, *unmatched)
            .with_for_update()
        )
    if order is None:
        how = "patient_modality_date"
        order = _by_patient(session, study, unmatched)
    if order is None:
        return None
    _link(session, order, study)
    _audit(session, "order.match", None, order, study.patient.patient_id,
           study_instance_uid=study_uid, how=how)  # fmt: skip
    return order


def _by_patient(session: Session, study: Study, unmatched: Sequence[Any]) -> Order | None:
    record_id = order_patients.record_of_study(session, study)
    if record_id is None or not study.modalities or study.study_date is None:
        return None
    # The study date is the modality's local date.
    start = _day_start(study.study_date)
    candidates = session.scalars(
        select(Order)
        .where(
            Order.patient_id == record_id,
            Order.modality.in_(study.modalities),
            Order.scheduled_at >= start,
            Order.scheduled_at < start + timedelta(days=1),
            *unmatched,
        )
        .with_for_update()
    ).all()
    return candidates[0] if len(candidates) == 1 else None


def on_read_status(session: Session, study_uid: str, read_status: str) -> None:
    """Move the study's order forward as reading proceeds (never backwards)."""
    target = _FROM_READ_STATUS.get(read_status)
    if target is None:
        return
    order = session.scalar(
        select(Order).where(Order.study_instance_uid == study_uid).with_for_update()
    )
    if order is None or order.status not in _OPEN:
        return
    current = OrderStatus(order.status)
    # Forward through every step in between (arrived → in progress → completed).
    for step in _RANK[_RANK.index(current) + 1 : _RANK.index(target) + 1]:
        _move(order, step)


def unmatched_studies(
    session: Session, actor: Actor | None, *, limit: int, offset: int
) -> tuple[list[tuple[Study, Patient]], int]:
    """Studies no order answers, newest arrival first (audited)."""
    matched = exists().where(Order.study_instance_uid == Study.study_instance_uid)
    where = (Study.deleted_at.is_(None), ~matched, scope.visible())
    total = session.scalar(select(func.count(Study.id)).where(*where)) or 0
    rows = session.execute(
        select(Study, Patient)
        .join(Patient, Study.patient_pk == Patient.id)
        .where(*where)
        .order_by(Study.received_at.desc(), Study.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    audit.record_now(
        "image.query", actor, resource_type="study",
        detail={"filters": ["unmatched"], "returned": len(rows), "total": total},
    )  # fmt: skip
    return [(s, p) for s, p in rows], int(total)


# -- orders placed by the hospital system (HL7 ORM / OMI, hl7/service.py) -----------------


def by_placer_number(session: Session, placer_number: str) -> Order | None:
    return session.scalar(
        select(Order).where(Order.placer_order_number == placer_number).with_for_update()
    )


def upsert_from_his(
    session: Session, actor: Actor | None, existing: Order | None, patient_id: int, facts: Any
) -> Order:
    """Schedule (existing None) or change an order the hospital system placed. `facts` is
    an hl7.messages.OrderFacts; its fields go through OrderCreate's checks like the API's."""
    data = OrderCreate.model_validate(
        {
            "patient_id": patient_id, "procedure": facts.procedure, "modality": facts.modality,
            "body_part": facts.body_part, "priority": facts.priority,
            "clinical_question": facts.clinical_question,
            "ordering_doctor": facts.ordering_doctor,
            "ordering_department": facts.ordering_department,
            "patient_source": facts.patient_source, "scheduled_at": facts.scheduled_at,
        }
    )  # fmt: skip
    if existing is None:
        order = create_order(session, actor, data)
        order.placer_order_number = facts.placer_number
        session.flush()
        return order
    if existing.status != OrderStatus.scheduled.value:
        raise InvalidOrderTransition(
            f"已{existing.status}的检查申请不能再修改",
            english=f"An order that is {existing.status} can no longer change",
            details={"from": existing.status, "to": "changed"},
        )
    for name, value in data.model_dump(exclude={"accession_number", "station_ae"}).items():
        setattr(existing, name, value)
    existing.version += 1
    mrn = order_patients.facts(session, patient_id).mrn
    _audit(session, "order.update", actor, existing, mrn)
    session.flush()
    return existing


def cancel_from_his(session: Session, actor: Actor | None, order: Order) -> Order:
    """Cancel an order on the hospital system's word (409 once it completed)."""
    return change_status(session, actor, order.id, OrderStatus.cancelled)
