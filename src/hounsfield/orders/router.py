"""HTTP: /api/orders — imaging orders (检查申请), their status, and matching studies."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, status
from sqlalchemy.orm import Session

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.orders import patients as order_patients
from hounsfield.orders import service
from hounsfield.orders.models import Order, OrderStatus
from hounsfield.orders.schemas import (
    MatchRequest,
    OrderCreate,
    OrderRead,
    OrderUpdate,
    StatusChange,
    UnmatchedStudy,
)
from hounsfield.schemas import Page
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/orders", tags=["orders"])

OrderReader = Annotated[User, requires(Permission.order_read)]
OrderWriter = Annotated[User, requires(Permission.order_write)]
OrderId = Annotated[int, Path(ge=1, le=2**63 - 1, description="The order's id.")]


def _reads(session: Session, orders: list[Order]) -> list[OrderRead]:
    known = order_patients.facts_of(session, {o.patient_id for o in orders})
    return [
        OrderRead.model_validate(
            {
                **{c: getattr(o, c) for c in OrderRead.model_fields if hasattr(o, c)},
                "patient_name": known[o.patient_id].display_name if o.patient_id in known else "",
            }
        )
        for o in orders
    ]


@router.get("")
def list_orders(
    user: OrderReader,
    session: SessionDep,
    status: OrderStatus | None = None,
    patient_id: Annotated[int | None, Query(ge=1, le=2**63 - 1)] = None,
    modality: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Za-z0-9_ ]*$")] = None,
    date_from: date | None = None,
    date_to: date | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[OrderRead]:
    """Orders by scheduled time (dates are local to the hospital's time zone)."""
    filters = service.OrderFilters(status, patient_id, modality, date_from, date_to)
    orders, total = service.list_orders(session, user, filters, limit=limit, offset=offset)
    return Page(items=_reads(session, orders), total=total)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_order(body: OrderCreate, user: OrderWriter, session: WriteSessionDep) -> OrderRead:
    """Schedule an order; its AccessionNumber is generated (`HF` + YYMMDD + 8 digits)."""
    return _reads(session, [service.create_order(session, user, body)])[0]


@router.get("/unmatched-studies")
def unmatched_studies(
    user: OrderReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[UnmatchedStudy]:
    """Studies that answer no order, newest first, for a technician to match."""
    rows, total = service.unmatched_studies(session, user, limit=limit, offset=offset)
    items = [
        UnmatchedStudy(
            study_instance_uid=s.study_instance_uid,
            patient_name=s.patient_name or p.patient_name,
            patient_id=p.patient_id,
            accession_number=s.accession_number,
            study_date=s.study_date,
            modalities=s.modalities,
        )
        for s, p in rows
    ]
    return Page(items=items, total=total)


@router.get("/{order_id}")
def get_order(order_id: OrderId, user: OrderReader, session: SessionDep) -> OrderRead:
    return _reads(session, [service.get_order(session, user, order_id)])[0]


@router.patch("/{order_id}")
def update_order(
    order_id: OrderId, body: OrderUpdate, user: OrderWriter, session: WriteSessionDep
) -> OrderRead:
    """Edit the fields sent; `version` must be the one read (else 409 order_version_conflict).
    A completed or cancelled order no longer changes (409 order_closed)."""
    return _reads(session, [service.update_order(session, user, order_id, body)])[0]


@router.post("/{order_id}/status")
def change_status(
    order_id: OrderId, body: StatusChange, user: OrderWriter, session: WriteSessionDep
) -> OrderRead:
    """Move the order along scheduled → arrived → in_progress → completed, or cancel it."""
    return _reads(session, [service.change_status(session, user, order_id, body.status)])[0]


@router.post("/{order_id}/match")
def match(
    order_id: OrderId, body: MatchRequest, user: OrderWriter, session: WriteSessionDep
) -> OrderRead:
    """Match the order to a study by hand."""
    return _reads(session, [service.match(session, user, order_id, body.study_instance_uid)])[0]
