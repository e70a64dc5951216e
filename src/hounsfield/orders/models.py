"""Imaging orders (检查申请): what was asked for, scheduled where, and the study that answered.

AccessionNumber form: ``HF`` + the order's creation date (YYMMDD, UTC) + its id in 8
digits, e.g. ``HF26120200000042``: 16 characters (the SH limit), unique because the id is.
An order from a hospital system may bring its own accession number instead.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum
from zoneinfo import ZoneInfo

from sqlalchemy import ForeignKey, Index, Integer, String
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.config import get_settings
from hounsfield.db import Base, UTCDateTime, utcnow
from hounsfield.studies.models import BigId


def local_zone() -> ZoneInfo:
    """The hospital's time zone: DICOM dates and times (worklist, study date) are local."""
    return ZoneInfo(get_settings().worklist.timezone)


class OrderStatus(StrEnum):
    scheduled = "scheduled"
    arrived = "arrived"
    in_progress = "in_progress"
    completed = "completed"
    cancelled = "cancelled"


class Priority(StrEnum):
    routine = "routine"
    urgent = "urgent"
    stat = "stat"


# The worklist's sort order (Study.priority_rank): STAT first, routine last.
PRIORITY_RANK = {Priority.stat: 0, Priority.urgent: 1, Priority.routine: 2}


class PatientSource(StrEnum):
    """Where the patient comes from (门诊 / 住院 / 急诊 / 体检)."""

    outpatient = "outpatient"
    inpatient = "inpatient"
    emergency = "emergency"
    physical = "physical"


class Order(Base):
    __tablename__ = "imaging_orders"
    __table_args__ = (
        Index("ix_imaging_orders_status_scheduled_at", "status", "scheduled_at"),
        Index("ix_imaging_orders_patient_id", "patient_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(BigId, ForeignKey("patients.id"))
    # NULL only between the insert and the flush that knows the id (see the module doc).
    accession_number: Mapped[str | None] = mapped_column(String(16), unique=True)
    procedure: Mapped[str] = mapped_column(String(64))
    modality: Mapped[str] = mapped_column(String(16))
    body_part: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[str] = mapped_column(String(16), default=Priority.routine)
    clinical_question: Mapped[str] = mapped_column(String(1024), default="")
    ordering_doctor: Mapped[str] = mapped_column(String(64), default="")
    ordering_department: Mapped[str] = mapped_column(String(64), default="")
    patient_source: Mapped[str] = mapped_column(String(16), default=PatientSource.outpatient)
    scheduled_at: Mapped[datetime] = mapped_column(UTCDateTime)
    station_ae: Mapped[str] = mapped_column(String(16), default="")
    status: Mapped[str] = mapped_column(String(16), default=OrderStatus.scheduled)
    # ORC-2 of an order placed by the hospital system over HL7 (how its changes find it).
    placer_order_number: Mapped[str | None] = mapped_column(String(32), unique=True)
    # One order per study: a study answers at most one order (a second match is refused).
    study_instance_uid: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    # Optimistic concurrency for edits (PATCH sends the version it read; stale is 409).
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")
