"""The device registry: remote DICOM application entities we talk to."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import Boolean, Integer, String, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow

OPERATIONS = ("store", "find", "move", "get")


class Device(Base):
    """A registered DICOM node (modality, PACS, viewer), named by its AE title."""

    __tablename__ = "devices"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    ae_title: Mapped[str] = mapped_column(String(16), unique=True)
    host: Mapped[str] = mapped_column(String(255))
    port: Mapped[int] = mapped_column(Integer)
    modality: Mapped[str] = mapped_column(String(16), default="")
    department: Mapped[str] = mapped_column(String(64), default="")
    description: Mapped[str] = mapped_column(String(255), default="")
    # Comma-separated subset of OPERATIONS the device may ask of us (and we of it).
    operations_csv: Mapped[str] = mapped_column("operations", String(32), default="")
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    tls: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    @property
    def operations(self) -> list[str]:
        return [op for op in self.operations_csv.split(",") if op]

    @operations.setter
    def operations(self, value: list[str]) -> None:
        self.operations_csv = ",".join(op for op in OPERATIONS if op in set(value))

    def allows(self, operation: str) -> bool:
        return operation in self.operations


class DimseJob(Base):
    """A background DICOM transfer: a send (C-STORE to a device) or a retrieve (C-MOVE to us)."""

    __tablename__ = "dimse_jobs"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    kind: Mapped[str] = mapped_column(String(16))  # "send" | "retrieve"
    device_id: Mapped[uuid.UUID] = mapped_column(Uuid)
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    # queued → running → completed | partial | failed
    status: Mapped[str] = mapped_column(String(16), default="queued")
    total: Mapped[int] = mapped_column(Integer, default=0)
    completed: Mapped[int] = mapped_column(Integer, default=0)
    failed: Mapped[int] = mapped_column(Integer, default=0)
    warning: Mapped[int] = mapped_column(Integer, default=0)
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(String(255))
    requested_by: Mapped[str] = mapped_column(String(64), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
