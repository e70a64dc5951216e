"""HTTP: /api/critical-results (危急值)."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, status
from sqlalchemy.orm import Session

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.reports import critical
from hounsfield.reports.models import CriticalResult
from hounsfield.reports.schemas import CriticalCounts, CriticalFlag, CriticalPage, CriticalRead
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/critical-results", tags=["reports"])

Reader = Annotated[User, requires(Permission.report_read)]
Writer = Annotated[User, requires(Permission.report_write)]


def read(item: CriticalResult, ctx: critical.Context) -> CriticalRead:
    contact = uuid.UUID(item.contacts[item.contact_index])
    study = ctx.studies.get(item.study_instance_uid)
    facts = asdict(study) if study else {}
    ack = item.acknowledged_by_id
    return CriticalRead.model_validate(
        {**{c: getattr(item, c) for c in CriticalRead.model_fields if hasattr(item, c)},
         **facts, "current_contact": contact, "open": item.acknowledged_at is None,
         "escalation_level": item.contact_index,
         "flagged_by_name": ctx.names.get(item.flagged_by_id, ""),
         "current_contact_name": ctx.names.get(contact, ""),
         "acknowledged_by_name": ctx.names.get(ack, "") if ack else None}
    )  # fmt: skip


def read_one(session: Session, item: CriticalResult) -> CriticalRead:
    return read(item, critical.context(session, [item]))


@router.post("", status_code=status.HTTP_201_CREATED)
def flag_critical(body: CriticalFlag, user: Writer, session: WriteSessionDep) -> CriticalRead:
    """Flag a critical result; the first contact is notified at once."""
    item = critical.flag(
        session, user, study_instance_uid=body.study_instance_uid, finding=body.finding,
        contacts=body.contacts, report_id=body.report_id,
    )  # fmt: skip
    return read_one(session, item)


@router.get("")
def list_critical(
    user: Reader,
    session: SessionDep,
    open_only: Annotated[bool | None, Query(alias="open")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> CriticalPage:
    """Critical results, newest first; `open=true` the unacknowledged, `open=false` the closed."""
    total, rows = critical.list_results(
        session, user, open_only=open_only, offset=offset, limit=limit
    )
    ctx = critical.context(session, rows)
    return CriticalPage(total=total, items=[read(r, ctx) for r in rows])


@router.get("/counts")
def count_critical(_user: Reader, session: SessionDep) -> CriticalCounts:
    """How many are open and closed: the nav badge and the inbox summary (polled)."""
    return CriticalCounts(**critical.counts(session))


@router.post("/{item_id}/acknowledge")
def acknowledge_critical(
    item_id: uuid.UUID, user: Reader, session: WriteSessionDep
) -> CriticalRead:
    """A contact confirms that they received the result (time and user recorded)."""
    return read_one(session, critical.acknowledge(session, user, item_id))
