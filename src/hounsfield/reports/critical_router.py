"""HTTP: /api/critical-results (危急值)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.reports import critical
from hounsfield.reports.models import CriticalResult
from hounsfield.reports.schemas import CriticalFlag, CriticalRead
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/critical-results", tags=["reports"])

Reader = Annotated[User, requires(Permission.report_read)]
Writer = Annotated[User, requires(Permission.report_write)]


def read(item: CriticalResult) -> CriticalRead:
    return CriticalRead.model_validate(
        {**{c: getattr(item, c) for c in CriticalRead.model_fields if hasattr(item, c)},
         "current_contact": item.contacts[item.contact_index],
         "open": item.acknowledged_at is None}
    )  # fmt: skip


@router.post("", status_code=status.HTTP_201_CREATED)
def flag_critical(body: CriticalFlag, user: Writer, session: WriteSessionDep) -> CriticalRead:
    """Flag a critical result; the first contact is notified at once."""
    item = critical.flag(
        session, user, study_instance_uid=body.study_instance_uid, finding=body.finding,
        contacts=body.contacts, report_id=body.report_id,
    )  # fmt: skip
    return read(item)


@router.get("")
def list_critical(
    user: Reader,
    session: SessionDep,
    open_only: Annotated[bool | None, Query(alias="open")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> list[CriticalRead]:
    """Critical results, newest first; `open=true` the unacknowledged, `open=false` the closed."""
    rows = critical.list_results(session, user, open_only=open_only, offset=offset, limit=limit)
    return [read(r) for r in rows]


@router.post("/{item_id}/acknowledge")
def acknowledge_critical(
    item_id: uuid.UUID, user: Reader, session: WriteSessionDep
) -> CriticalRead:
    """A contact confirms that they received the result (time and user recorded)."""
    return read(critical.acknowledge(session, user, item_id))
