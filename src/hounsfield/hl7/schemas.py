"""HTTP shapes of the HL7 message review."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, Field

AckCode = Literal["AA", "AE", "AR"]


class Hl7MessageRead(BaseModel):
    """A message as listed: no patient data (ids, type, codes and the reason only)."""

    id: int
    received_at: datetime
    peer: str
    sending_application: str
    control_id: str = Field(description="MSH-10")
    message_type: str = Field(description="MSH-9, e.g. ORM^O01")
    ack_code: AckCode = Field(description="AA applied; AE refused for a reason; AR not understood")
    reason_code: str
    reason: str = Field(description="Why it was refused, in zh-CN (as sent in MSA-3)")


class Hl7Segment(BaseModel):
    name: str
    fields: list[str] = Field(description="fields[i] is field i + 1 (MSH-1: the separator)")


class Hl7MessageDetail(Hl7MessageRead):
    """One message with its text (patient data: the read is audited)."""

    raw: str
    segments: list[Hl7Segment]
    reprocessable: bool = Field(description="Refused (AE, AR) with its text kept")


class Hl7MessagePage(BaseModel):
    items: list[Hl7MessageRead]
    total: int


class Hl7ReprocessRead(BaseModel):
    """The outcome of receiving the message's text again (stored as a new message)."""

    ack_code: AckCode
    reason_code: str = Field(description="`duplicate`: applied before, not applied again")
    reason: str
