"""HTTP: /api/hl7/messages — review the HL7 v2 messages received (hl7:read)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from fastapi import APIRouter, Path, Query

from hounsfield.audit import service as audit
from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep
from hounsfield.hl7 import review
from hounsfield.hl7.models import Hl7Message
from hounsfield.hl7.schemas import (
    AckCode,
    Hl7MessageDetail,
    Hl7MessagePage,
    Hl7MessageRead,
    Hl7ReprocessRead,
    Hl7Segment,
)
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/hl7", tags=["hl7"])

Hl7Reader = Annotated[User, requires(Permission.hl7_read)]
Administrator = Annotated[User, requires(Permission.system_admin)]
MessageId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Text = Annotated[str | None, Query(max_length=64)]


def _read(row: Hl7Message) -> Hl7MessageRead:
    return Hl7MessageRead.model_validate(
        {name: getattr(row, name) for name in Hl7MessageRead.model_fields}
    )


@router.get("/messages")
def list_messages(
    user: Hl7Reader,
    session: SessionDep,
    ack_code: AckCode | None = None,
    message_type: Annotated[
        str | None, Query(max_length=32, description="A prefix: ADT matches ADT^A01, ADT^A08")
    ] = None,
    sending_application: Text = None,
    control_id: Text = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Hl7MessagePage:
    """Messages received, newest first, filtered; without their text (no patient data)."""
    filters = review.MessageFilters(
        ack_code=ack_code, message_type=message_type, sending_application=sending_application,
        control_id=control_id, since=since, until=until,
    )  # fmt: skip
    rows, total = review.list_messages(session, filters, limit=limit, offset=offset)
    return Hl7MessagePage(items=[_read(r) for r in rows], total=total)


@router.get("/messages/{message_id}")
def get_message(message_id: MessageId, user: Hl7Reader, session: SessionDep) -> Hl7MessageDetail:
    """One message with its text, segment by segment; the read is audited (patient data)."""
    row = review.get_message(session, message_id)
    shown = Hl7MessageDetail(
        **_read(row).model_dump(),
        raw=row.raw,
        segments=[Hl7Segment(name=s.name, fields=s.fields) for s in review.segments(row.raw)],
        reprocessable=row.ack_code != "AA" and bool(row.raw),
    )
    audit.record_access(
        "hl7.read", user, resource_type="hl7", resource_id=str(row.id),
        patient_id=review.patient_mrn(row.raw),
        detail={"control_id": row.control_id, "message_type": row.message_type},
    )  # fmt: skip
    return shown


@router.post("/messages/{message_id}/reprocess")
def reprocess_message(message_id: MessageId, user: Administrator) -> Hl7ReprocessRead:
    """Receive a refused message (AE, AR) again once its cause is fixed: applied all or
    nothing and stored as a new message; one applied before (same sender and MSH-10) is
    acknowledged without being applied twice. An applied message is 409."""
    outcome = review.reprocess(message_id)
    audit.record_now(
        "hl7.reprocess", user, resource_type="hl7", resource_id=str(message_id),
        detail={"ack_code": outcome.ack_code, "reason_code": outcome.reason_code},
    )  # fmt: skip
    return Hl7ReprocessRead(
        ack_code=outcome.ack_code,
        reason_code=outcome.reason_code,
        reason=outcome.reason,
    )
