"""Reading status per study: the radiologist's worklist.

A study without a row is unread, routine, unassigned (rows are created on the first
claim, assignment or status change), so the ingest path writes nothing here.
"""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow
from hounsfield.studies.models import BigId


class ReadStatus(StrEnum):
    unread = "unread"  # 未读
    in_reading = "in_reading"  # 阅片中
    preliminary = "preliminary"  # 初步报告
    final = "final"  # 已审核


class Reading(Base):
    __tablename__ = "study_readings"
    __table_args__ = (
        Index("ix_study_readings_status", "status"),
        Index("ix_study_readings_assigned_to_id", "assigned_to_id"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id", ondelete="CASCADE"), unique=True)
    status: Mapped[str] = mapped_column(String(16), default=ReadStatus.unread)
    assigned_to_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    claimed_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    claim_expires_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Turnaround: arrival is the study's received_at; these are set when first reached.
    preliminary_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    final_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Who read it (took it to preliminary, or straight to final) and who approved it.
    reported_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    final_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
