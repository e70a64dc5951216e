"""The AI tables: models and their immutable versions, runs, and the findings of a run."""

from __future__ import annotations

import uuid
from datetime import datetime

from sqlalchemy import (
    Boolean,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
    Uuid,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hounsfield.db import Base, UTCDateTime, utcnow


class AiModel(Base):
    """A model name; at most one of its versions is active (the one runs use)."""

    __tablename__ = "ai_models"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    name: Mapped[str] = mapped_column(String(64), unique=True)
    # No foreign key: the version table points here, and the pair would be a cycle.
    active_version_id: Mapped[uuid.UUID | None] = mapped_column(Uuid)
    # Run the active version on every completed series its filters match.
    auto_run: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    versions: Mapped[list[AiModelVersion]] = relationship(
        back_populates="model", order_by="AiModelVersion.created_at"
    )


class AiModelVersion(Base):
    """One immutable version: its manifest and (ONNX kind) its file in object storage."""

    __tablename__ = "ai_model_versions"
    __table_args__ = (UniqueConstraint("model_id", "version"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ai_models.id"))
    version: Mapped[str] = mapped_column(String(32))
    kind: Mapped[str] = mapped_column(String(16))  # onnx | python
    task: Mapped[str] = mapped_column(String(16))  # classification | detection | segmentation
    manifest: Mapped[str] = mapped_column(Text)  # the validated manifest, JSON
    storage_key: Mapped[str | None] = mapped_column(String(160))
    sha256: Mapped[str | None] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer, default=0)
    enabled: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str | None] = mapped_column(String(64))  # username; None: built in

    model: Mapped[AiModel] = relationship(back_populates="versions")


class AiRun(Base):
    """One model version run on a study, series or instance."""

    __tablename__ = "ai_runs"
    __table_args__ = (
        Index("ix_ai_runs_version_created", "model_version_id", "created_at"),
        Index("ix_ai_runs_study", "study_instance_uid"),
        Index("ix_ai_runs_series", "series_instance_uid"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    model_version_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ai_model_versions.id"))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    series_instance_uid: Mapped[str | None] = mapped_column(String(64))
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="queued")
    reason_code: Mapped[str | None] = mapped_column(String(64))
    reason: Mapped[str | None] = mapped_column(String(500))  # English; zh-CN by reason_code
    triggered_by: Mapped[str] = mapped_column(String(16), default="manual")  # manual | auto
    requested_by: Mapped[str | None] = mapped_column(String(64))  # username
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    started_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    latency_ms: Mapped[float | None] = mapped_column(Float)  # inference, preprocessing included
    images: Mapped[int] = mapped_column(Integer, default=0)
    sr_sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    seg_sop_instance_uid: Mapped[str | None] = mapped_column(String(64))

    version: Mapped[AiModelVersion] = relationship()
    findings: Mapped[list[AiFinding]] = relationship(
        back_populates="run", order_by="AiFinding.ordinal"
    )


class AiFinding(Base):
    """One result of a run. Until a doctor reviews it, it is a suggestion."""

    __tablename__ = "ai_findings"
    __table_args__ = (Index("ix_ai_findings_run", "run_id"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    run_id: Mapped[uuid.UUID] = mapped_column(Uuid, ForeignKey("ai_runs.id"))
    ordinal: Mapped[int] = mapped_column(Integer, default=0)
    label: Mapped[str] = mapped_column(String(64))
    probability: Mapped[float] = mapped_column(Float)
    sop_instance_uid: Mapped[str | None] = mapped_column(String(64))
    frame: Mapped[int | None] = mapped_column(Integer)
    geometry: Mapped[str] = mapped_column(Text, default="{}")  # JSON, image coordinates
    measurements: Mapped[str] = mapped_column(Text, default="{}")  # JSON name → number
    status: Mapped[str] = mapped_column(String(16), default="suggestion")
    edited_label: Mapped[str | None] = mapped_column(String(64))
    edited_geometry: Mapped[str | None] = mapped_column(Text)
    review_comment: Mapped[str | None] = mapped_column(String(500))
    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # Optimistic concurrency: each review or edit bumps it; an edit names the one it read.
    version: Mapped[int] = mapped_column(Integer, default=1, server_default="1")

    run: Mapped[AiRun] = relationship(back_populates="findings")
