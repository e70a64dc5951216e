"""HTTP: GET /api/audit — search the audit trail (audit:read)."""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Iterator
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Response
from pydantic import BaseModel, Field
from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service
from hounsfield.audit.models import AuditEvent
from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep
from hounsfield.schemas import Page
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/audit", tags=["audit"])


class AuditEventRead(BaseModel):
    id: int
    seq: int | None
    occurred_at: datetime
    action: str
    event_code: str
    outcome: int
    actor_id: str | None
    actor_username: str | None
    actor_roles: str
    resource_type: str | None
    resource_id: str | None
    patient_id: str | None
    client_ip: str | None
    request_id: str | None
    detail: dict[str, Any]


class AuditVerifyRead(BaseModel):
    ok: bool
    checked: int
    unsealed: int = Field(description="Rows not chained yet (the sealer runs in batches).")
    broken_seq: int | None
    reason: str | None


AuditReader = Annotated[User, requires(Permission.audit_read)]


def _filters(
    actor: str | None = None,
    action: str | None = None,
    patient_id: str | None = None,
    resource_id: str | None = None,
    outcome: Annotated[int | None, Query(ge=0, le=12)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
) -> list[ColumnElement[bool]]:
    """The search's conditions, shared by the page and the CSV export."""
    filters: list[ColumnElement[bool]] = []
    if actor:
        filters.append(AuditEvent.actor_username == actor)
    if action:
        filters.append(AuditEvent.action == action)
    if patient_id:
        filters.append(AuditEvent.patient_id == patient_id)
    if resource_id:
        filters.append(AuditEvent.resource_id == resource_id)
    if outcome is not None:
        filters.append(AuditEvent.outcome == outcome)
    if since:
        filters.append(AuditEvent.occurred_at >= since)
    if until:
        filters.append(AuditEvent.occurred_at < until)
    return filters


Filters = Annotated[list[ColumnElement[bool]], Depends(_filters)]


def _read(row: AuditEvent) -> AuditEventRead:
    return AuditEventRead.model_validate(
        {c: getattr(row, c) for c in AuditEventRead.model_fields if c != "detail"}
        | {"detail": json.loads(row.detail or "{}")}
    )


@router.get("")
def search_audit(
    user: AuditReader,
    session: SessionDep,
    filters: Filters,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[AuditEventRead]:
    """Audit events, newest first, filtered by actor, action, patient, outcome and time."""
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*filters)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*filters)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [_read(r) for r in rows]
    service.record_access("audit.read", user, detail={"results": len(items)})
    return Page(items=items, total=total)


CSV_COLUMNS = (
    "seq", "occurred_at", "action", "event_code", "outcome", "actor_username", "actor_roles",
    "resource_type", "resource_id", "patient_id", "client_ip", "request_id", "detail",
)  # fmt: skip
CSV_MAX_ROWS = 100_000


def _csv_cell(value: object) -> str:
    """Text a spreadsheet shows as text: a leading =, +, - or @ would be run as a formula."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def _csv_lines(session: Session, filters: list[ColumnElement[bool]]) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(CSV_COLUMNS)
    query = select(AuditEvent).where(*filters).order_by(AuditEvent.id.desc()).limit(CSV_MAX_ROWS)
    for row in session.scalars(query):
        writer.writerow([_csv_cell(getattr(row, c)) for c in CSV_COLUMNS])
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


@router.get("/export.csv", response_class=Response)
def export_audit(user: AuditReader, session: SessionDep, filters: Filters) -> Response:
    """The filtered events as CSV (UTF-8 with BOM, so Excel reads Chinese), newest first,
    at most 100,000 rows; the export itself is audited."""
    body = "\ufeff" + "".join(_csv_lines(session, filters))
    service.record_access("audit.read", user, detail={"export": "csv"})
    return Response(
        body.encode(),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="audit.csv"'},
    )


@router.get("/verify")
def verify_chain(user: AuditReader, session: SessionDep) -> AuditVerifyRead:
    """Walk the hash chain now: the first row altered, missing or out of place, if any."""
    result = service.verify(session)
    service.record_access("audit.read", user, detail={"verify": result.ok})
    return AuditVerifyRead(
        ok=result.ok,
        checked=result.checked,
        unsealed=result.unsealed,
        broken_seq=result.broken_seq,
        reason=result.reason,
    )
