"""Review of the HL7 v2 messages received (hl7_messages): the list, one message segment by
segment, and reprocessing a refused one once its cause is fixed.

The list carries no patient data (ids, types, codes, reasons); the raw message does, so
each read of it is audited with the patient's MRN (PID-3) when the message names one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, func, select
from sqlalchemy.orm import Session

from hounsfield.db import transaction
from hounsfield.errors import Conflict, NotFound
from hounsfield.hl7 import service
from hounsfield.hl7.models import Hl7Message

ACK_CODES = ("AA", "AE", "AR")


class Hl7MessageNotFound(NotFound):
    """No such HL7 message."""

    code = "hl7_message_not_found"


class Hl7NotReprocessable(Conflict):
    """Only a refused message (AE, AR) with its text kept can be processed again."""

    code = "hl7_not_reprocessable"


@dataclass(frozen=True)
class MessageFilters:
    ack_code: str | None = None
    message_type: str | None = None  # a prefix: "ADT" matches ADT^A01, ADT^A08, …
    sending_application: str | None = None
    control_id: str | None = None
    since: datetime | None = None
    until: datetime | None = None

    def where(self) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.ack_code:
            where.append(Hl7Message.ack_code == self.ack_code)
        if self.message_type:
            where.append(Hl7Message.message_type.startswith(self.message_type, autoescape=True))
        if self.sending_application:
            where.append(Hl7Message.sending_application == self.sending_application)
        if self.control_id:
            where.append(Hl7Message.control_id == self.control_id)
        if self.since:
            where.append(Hl7Message.received_at >= self.since)
        if self.until:
            where.append(Hl7Message.received_at < self.until)
        return where


def list_messages(
    session: Session, filters: MessageFilters, *, limit: int, offset: int
) -> tuple[list[Hl7Message], int]:
    """One page of messages, newest first, and how many match."""
    where = filters.where()
    total = session.scalar(select(func.count()).select_from(Hl7Message).where(*where)) or 0
    rows = session.scalars(
        select(Hl7Message).where(*where).order_by(Hl7Message.id.desc()).limit(limit).offset(offset)
    ).all()
    return list(rows), total


def get_message(session: Session, message_id: int) -> Hl7Message:
    row = session.get(Hl7Message, message_id)
    if row is None:
        raise Hl7MessageNotFound()
    return row


@dataclass(frozen=True)
class Segment:
    name: str
    fields: list[str]  # fields[i] is field i + 1 of the segment (MSH-1 is the separator)


def _separators(raw: str) -> tuple[str, str, str]:
    """(field, repetition, component) separators from MSH-1 and MSH-2, else the defaults."""
    if raw.startswith("MSH") and len(raw) > 4:
        field = raw[3]
        encoding = raw[4:].split(field, 1)[0]
        component = encoding[0] if encoding else "^"
        repetition = encoding[1] if len(encoding) > 1 else "~"
        return field, repetition, component
    return "|", "~", "^"


def _lines(raw: str) -> list[str]:
    return [s for s in raw.replace("\r\n", "\r").replace("\n", "\r").split("\r") if s]


def segments(raw: str) -> list[Segment]:
    """The message segment by segment, its fields split (not unescaped: shown as sent)."""
    field = _separators(raw)[0]
    found = []
    for line in _lines(raw):
        name, _, rest = line.partition(field)
        values = rest.split(field) if rest or line.endswith(field) else []
        if name == "MSH":  # MSH-1 is the field separator itself
            values = [field, *values]
        found.append(Segment(name=name[:8], fields=values))
    return found


def patient_mrn(raw: str) -> str | None:
    """The MRN of PID-3 (the first identifier not of type NI / PPN), if the message has one."""
    field, repetition, component = _separators(raw)
    for line in _lines(raw):
        parts = line.split(field)
        if parts[0] != "PID" or len(parts) < 4:
            continue
        for rep in parts[3].split(repetition):
            comps = rep.split(component)
            kind = comps[4].upper() if len(comps) > 4 else ""
            if comps[0] and kind not in ("NI", "PPN"):
                return comps[0][:64]
    return None


def reprocess(message_id: int) -> service.Outcome:
    """Receive a refused message's text again, as if the HIS had resent it.

    It is applied all or nothing and stored as a new row with its new outcome (the old row
    stays, for the record). Idempotent by sender and control ID: once a message with them
    has been applied (AA), it is acknowledged without being applied again."""
    with transaction() as session:
        row = get_message(session, message_id)
        if row.ack_code == "AA" or not row.raw:
            raise Hl7NotReprocessable(details={"ack_code": row.ack_code})
        raw, peer = row.raw, row.peer
    return service.receive(raw, peer)
