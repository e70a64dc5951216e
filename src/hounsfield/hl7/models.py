"""Every HL7 v2 message received, with the acknowledgement it got (kept for review)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow
from hounsfield.studies.models import BigId


class Hl7Message(Base):
    __tablename__ = "hl7_messages"
    __table_args__ = (
        Index("ix_hl7_messages_sender_control_id", "sending_application", "control_id"),
        Index("ix_hl7_messages_ack_code", "ack_code", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    peer: Mapped[str] = mapped_column(String(64), default="")
    sending_application: Mapped[str] = mapped_column(String(64), default="")
    control_id: Mapped[str] = mapped_column(String(64), default="")  # MSH-10
    message_type: Mapped[str] = mapped_column(String(32), default="")  # MSH-9, e.g. ORM^O01
    # AA applied; AE refused for a reason (nothing applied); AR not understood (malformed).
    ack_code: Mapped[str] = mapped_column(String(2))
    reason_code: Mapped[str] = mapped_column(String(64), default="")
    reason: Mapped[str] = mapped_column(String(255), default="")
    raw: Mapped[str] = mapped_column(
        Text
    )  # the message as received (patient data: a table, never a log)
