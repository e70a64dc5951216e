"""The append-only audit trail, each sealed row chained to the previous by SHA-256."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import BigInteger, Index, Integer, SmallInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer, "sqlite")


class AuditEvent(Base):
    __tablename__ = "audit_events"
    __table_args__ = (
        Index("ix_audit_events_occurred_at", "occurred_at"),
        Index("ix_audit_events_patient_id", "patient_id"),
        Index("ix_audit_events_actor_username", "actor_username"),
        Index("ix_audit_events_action", "action"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    # Position in the hash chain, given when the row is sealed (NULL until then).
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True)
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    action: Mapped[str] = mapped_column(String(64))
    event_code: Mapped[str] = mapped_column(String(16))  # DICOM PS3.15 A.5 EventID (DCM)
    outcome: Mapped[int] = mapped_column(SmallInteger, default=0)  # A.5 EventOutcomeIndicator
    actor_id: Mapped[str | None] = mapped_column(String(36))
    actor_username: Mapped[str | None] = mapped_column(String(64))
    actor_roles: Mapped[str] = mapped_column(String(255), default="")
    resource_type: Mapped[str | None] = mapped_column(String(32))
    resource_id: Mapped[str | None] = mapped_column(String(128))
    patient_id: Mapped[str | None] = mapped_column(String(128))
    client_ip: Mapped[str | None] = mapped_column(String(64))
    request_id: Mapped[str | None] = mapped_column(String(64))
    detail: Mapped[str] = mapped_column(Text, default="{}")
    prev_hash: Mapped[str | None] = mapped_column(String(64))
    hash: Mapped[str | None] = mapped_column(String(64))


class AuditChainHead(Base):
    """One row: the last sealed position and hash. Locking it serializes sealing."""

    __tablename__ = "audit_chain_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default="0" * 64)


class AuditJournalSegment(Base):
    """A journal segment already written into audit_events: replaying it again is a no-op.

    Recorded in the transaction that writes the segment's events, so a crash between that
    commit and the file's removal never duplicates them.
    """

    __tablename__ = "audit_journal_segments"

    name: Mapped[str] = mapped_column(String(128), primary_key=True)
    drained_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AuditExportCursor(Base):
    """How far (chain seq) each external audit sink has received the trail."""

    __tablename__ = "audit_export_cursor"

    sink: Mapped[str] = mapped_column(String(64), primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
