"""HTTP: GET /api/audit — search the audit trail (audit:read)."""

from __future__ import annotations

import json
from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Query
from pydantic import BaseModel
from sqlalchemy import func, select

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


@router.get("")
def search_audit(
    user: Annotated[User, requires(Permission.audit_read)],
    session: SessionDep,
    actor: str | None = None,
    action: str | None = None,
    patient_id: str | None = None,
    resource_id: str | None = None,
    outcome: Annotated[int | None, Query(ge=0, le=12)] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[AuditEventRead]:
    """Audit events, newest first, filtered by actor, action, patient, outcome and time."""
    filters = []
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
    total = session.scalar(select(func.count()).select_from(AuditEvent).where(*filters)) or 0
    rows = session.scalars(
        select(AuditEvent)
        .where(*filters)
        .order_by(AuditEvent.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    items = [
        AuditEventRead.model_validate(
            {c: getattr(r, c) for c in AuditEventRead.model_fields if c != "detail"}
            | {"detail": json.loads(r.detail or "{}")}
        )
        for r in rows
    ]
    service.record_access("audit.read", user, detail={"results": len(items)})
    return Page(items=items, total=total)
