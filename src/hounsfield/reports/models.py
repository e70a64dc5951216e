"""Reports, every saved version of them, their templates and the keys that signed them."""

from __future__ import annotations

import uuid
from datetime import datetime
from enum import StrEnum
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text, UniqueConstraint, Uuid
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow
from hounsfield.studies.models import BigId


class ReportStatus(StrEnum):
    """The report's state; each maps to one FHIR DiagnosticReport status (FHIR_STATUS)."""

    draft = "draft"
    preliminary = "preliminary"  # submitted by its author, waiting for approval
    final = "final"  # approved and signed
    corrected = "corrected"  # a final report replaced by a corrected, re-signed version
    appended = "appended"  # a final report with a signed addendum
    cancelled = "cancelled"


FHIR_STATUS = {
    ReportStatus.draft: "registered",
    ReportStatus.preliminary: "preliminary",
    ReportStatus.final: "final",
    ReportStatus.corrected: "corrected",
    ReportStatus.appended: "appended",
    ReportStatus.cancelled: "cancelled",
}
SIGNED = frozenset({ReportStatus.final, ReportStatus.corrected, ReportStatus.appended})


class Report(Base):
    __tablename__ = "reports"
    __table_args__ = (
        Index("ix_reports_study_instance_uid", "study_instance_uid"),
        Index("ix_reports_status", "status"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    template_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("report_templates.id"))
    status: Mapped[str] = mapped_column(String(16), default=ReportStatus.draft)
    findings: Mapped[str] = mapped_column(Text, default="")  # 检查所见
    impression: Mapped[str] = mapped_column(Text, default="")  # 诊断意见
    recommendation: Mapped[str] = mapped_column(Text, default="")  # 建议
    addenda: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    structured: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    key_images: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    version: Mapped[int] = mapped_column(Integer, default=1)  # optimistic concurrency
    author_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    approver_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    submitted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportVersion(Base):
    """Every saved state of a report, never changed after it is written; signed ones carry
    the signature over exactly this content."""

    __tablename__ = "report_versions"
    __table_args__ = (UniqueConstraint("report_id", "number"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    report_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("reports.id", ondelete="CASCADE"))
    number: Mapped[int] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(16))
    content: Mapped[dict[str, Any]] = mapped_column(JSON)
    saved_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    saved_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    reason: Mapped[str] = mapped_column(String(1024), default="")  # amendments give one
    signature: Mapped[str | None] = mapped_column(String(128))  # base64 Ed25519
    key_id: Mapped[str | None] = mapped_column(String(32))
    signed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


class ReportTemplate(Base):
    __tablename__ = "report_templates"
    __table_args__ = (UniqueConstraint("code", "language"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    code: Mapped[str] = mapped_column(String(64))  # "chest-xr": one exam, several languages
    language: Mapped[str] = mapped_column(String(8))  # zh-CN | en
    name: Mapped[str] = mapped_column(String(128))
    modality: Mapped[str] = mapped_column(String(16))
    body_part: Mapped[str] = mapped_column(String(64))
    sections: Mapped[dict[str, str]] = mapped_column(JSON)  # default text per section
    fields: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)  # structured
    builtin: Mapped[bool] = mapped_column(default=False)  # the starter set: read-only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class SigningKey(Base):
    """The public half of every key that ever signed a report, so that old signatures
    still verify after the key is rotated."""

    __tablename__ = "report_signing_keys"

    key_id: Mapped[str] = mapped_column(String(32), primary_key=True)
    public_key: Mapped[str] = mapped_column(String(64))  # base64 raw Ed25519
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CriticalResult(Base):
    """A critical result (危急值): who must hear of it, in order, and who acknowledged it.

    The contact at `contact_index` was notified at `notified_at`; without an
    acknowledgement within the setting's minutes, the next contact is notified."""

    __tablename__ = "critical_results"
    __table_args__ = (Index("ix_critical_results_open", "acknowledged_at", "notified_at"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    study_instance_uid: Mapped[str] = mapped_column(String(64), index=True)
    report_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("reports.id"))
    finding: Mapped[str] = mapped_column(Text)
    contacts: Mapped[list[str]] = mapped_column(JSON)  # user ids, in the order to call
    contact_index: Mapped[int] = mapped_column(Integer, default=0)
    flagged_by_id: Mapped[uuid.UUID] = mapped_column(ForeignKey("users.id"))
    flagged_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    notified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    acknowledged_by_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    acknowledged_at: Mapped[datetime | None] = mapped_column(UTCDateTime)


SHARED = "shared"  # ReportPhrase.owner_key of the shared phrases


class ReportPhrase(Base):
    """A phrase (常用语) a doctor inserts by its shortcut: personal (owner_id) or shared.

    `owner_key` is the owner's id or "shared", so one unique constraint keeps a shortcut
    unique per owner and among the shared phrases (a NULL owner would never collide)."""

    __tablename__ = "report_phrases"
    __table_args__ = (UniqueConstraint("owner_key", "shortcut"),)

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    owner_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    owner_key: Mapped[str] = mapped_column(String(36))
    shortcut: Mapped[str] = mapped_column(String(16))
    text: Mapped[str] = mapped_column(Text)
    modality: Mapped[str | None] = mapped_column(String(16))
    language: Mapped[str | None] = mapped_column(String(8))
    builtin: Mapped[bool] = mapped_column(default=False)  # the starter set: read-only
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PeerReviewStatus(StrEnum):
    pending = "pending"
    done = "done"


class PeerReview(Base):
    """A RADPEER peer review of a signed report: a second doctor scores it (1 agree,
    2 discrepancy unlikely to be made, 3 discrepancy that should be made; a/b not/likely
    clinically significant). Results are for report:qc only, never the author.

    `open_report_id` holds the report's id while the review is pending and NULL once done:
    its unique constraint allows one open review per report on every backend."""

    __tablename__ = "peer_reviews"
    __table_args__ = (
        Index("ix_peer_reviews_reviewer_status", "reviewer_id", "status"),
        Index("ix_peer_reviews_created_at", "created_at"),
    )

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    report_id: Mapped[uuid.UUID] = mapped_column(
        ForeignKey("reports.id", ondelete="CASCADE"), index=True
    )
    open_report_id: Mapped[uuid.UUID | None] = mapped_column(Uuid, unique=True)
    reviewer_id: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    status: Mapped[str] = mapped_column(String(16), default=PeerReviewStatus.pending)
    score: Mapped[int | None] = mapped_column(Integer)
    significance: Mapped[str | None] = mapped_column(String(1))
    comment: Mapped[str] = mapped_column(Text, default="")
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_by: Mapped[uuid.UUID | None] = mapped_column(ForeignKey("users.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
