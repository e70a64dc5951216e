"""The DICOM index: patients, studies, series and instances.

Columns follow DICOM keywords. Text is stored decoded (Unicode); person names also in
normalized, case-folded form for matching (`name_*` and `name_search`). Deleting is soft
(`deleted_at`) first; a purge removes rows and objects later.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from hounsfield.db import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")

# Patients sent without a Patient ID get one patient row per study, told apart by an
# issuer starting with this marker; it is an index detail, never shown or matched.
ANONYMOUS_ISSUER_PREFIX = "~"


def public_issuer(issuer: str) -> str:
    """The Issuer of Patient ID as sent (empty for an anonymous patient's marker)."""
    return "" if issuer.startswith(ANONYMOUS_ISSUER_PREFIX) else issuer


class Patient(Base):
    __tablename__ = "dicom_patients"
    __table_args__ = (
        UniqueConstraint("patient_id", "issuer_of_patient_id"),
        Index("ix_dicom_patients_name_alphabetic", "name_alphabetic"),
        Index("ix_dicom_patients_name_ideographic", "name_ideographic"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[str] = mapped_column(String(64), default="")
    issuer_of_patient_id: Mapped[str] = mapped_column(String(64), default="")
    patient_name: Mapped[str] = mapped_column(String(324), default="")  # as sent, all groups
    name_alphabetic: Mapped[str] = mapped_column(String(200), default="")  # normalized
    name_ideographic: Mapped[str] = mapped_column(String(200), default="")
    name_phonetic: Mapped[str] = mapped_column(String(200), default="")
    name_search: Mapped[str] = mapped_column(String(1024), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    sex: Mapped[str] = mapped_column(String(16), default="")
    # The hospital's record of this person (patients/models.py), set when the first study
    # arrives; a merge of records moves it. None: anonymous, or indexed before records.
    patient_record_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    studies: Mapped[list[Study]] = relationship(back_populates="patient")


class Study(Base):
    __tablename__ = "studies"
    __table_args__ = (
        Index("ix_studies_study_date", "study_date"),
        Index("ix_studies_accession_number", "accession_number"),
        Index("ix_studies_received_at", "received_at"),
        Index("ix_studies_patient_pk", "patient_pk"),
        Index("ix_studies_deleted_at", "deleted_at"),
        # The reading worklist's pages and counts (worklist/service.py): each view is one
        # range of one of these, read in index order, so a page stops after LIMIT rows.
        Index(
            "ix_studies_worklist_priority",
            "deleted_at",
            "priority_rank",
            "received_at",
            "read_stage",
            "read_claim_until",
        ),
        Index(
            "ix_studies_worklist_stage_priority",
            "deleted_at",
            "read_stage",
            "priority_rank",
            "received_at",
        ),
        Index("ix_studies_worklist_stage_received", "deleted_at", "read_stage", "received_at"),
        Index(
            "ix_studies_worklist_counts",
            "deleted_at",
            "read_stage",
            "read_claim_until",
            "modalities_in_study",
        ),
        Index("ix_studies_worklist_date", "deleted_at", "study_date"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_pk: Mapped[int] = mapped_column(ForeignKey("dicom_patients.id"))
    study_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    accession_number: Mapped[str] = mapped_column(String(64), default="")
    study_id: Mapped[str] = mapped_column(String(64), default="")
    study_date: Mapped[date | None] = mapped_column(Date)
    study_time: Mapped[str] = mapped_column(String(16), default="")  # normalized HHMMSS[.f]
    study_description: Mapped[str] = mapped_column(String(255), default="")
    referring_physician_name: Mapped[str] = mapped_column(String(324), default="")
    referring_physician_search: Mapped[str] = mapped_column(String(1024), default="")
    # The patient as this study's own instances name it: a later study of the same
    # Patient ID with other demographics never rewrites an earlier one (issue 12.9d).
    patient_name: Mapped[str] = mapped_column(String(324), default="")
    patient_birth_date: Mapped[date | None] = mapped_column(Date)
    patient_sex: Mapped[str] = mapped_column(String(16), default="")
    # InstitutionalDepartmentName: decides which group may read the study (auth/scope.py).
    department: Mapped[str] = mapped_column(String(64), default="", index=True)
    modalities_in_study: Mapped[str] = mapped_column(String(128), default="")  # CT\MR
    number_of_series: Mapped[int] = mapped_column(Integer, default=0)
    number_of_instances: Mapped[int] = mapped_column(Integer, default=0)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The reading worklist's copy of what it sorts and filters on, kept by the worklist
    # and orders domains (worklist.service.sync_study, orders.service._link): the read
    # stage (`open` = unread or in reading, `preliminary`, `final`), the end of the claim
    # of a study in reading, and the matched order's priority (0 STAT, 1 urgent, 2 routine).
    read_stage: Mapped[str] = mapped_column(String(16), default="open", server_default="open")
    read_claim_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    priority_rank: Mapped[int] = mapped_column(SmallInteger, default=2, server_default="2")

    patient: Mapped[Patient] = relationship(back_populates="studies")
    series: Mapped[list[Series]] = relationship(back_populates="study")

    @property
    def modalities(self) -> list[str]:
        return [m for m in self.modalities_in_study.split("\\") if m]


class Series(Base):
    __tablename__ = "series"
    __table_args__ = (
        Index("ix_series_study_pk", "study_pk"),
        Index("ix_series_modality", "modality"),
        Index("ix_series_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    study_pk: Mapped[int] = mapped_column(ForeignKey("studies.id"))
    series_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    modality: Mapped[str] = mapped_column(String(16), default="")
    series_number: Mapped[int | None] = mapped_column(Integer)
    series_description: Mapped[str] = mapped_column(String(255), default="")
    body_part_examined: Mapped[str] = mapped_column(String(64), default="")
    number_of_instances: Mapped[int] = mapped_column(Integer, default=0)
    # Bumped on every change to the series' instances: caches of derived data (the
    # DICOMweb series metadata, thumbnails) compare it with the version they were built from.
    metadata_version: Mapped[int] = mapped_column(Integer, default=0)
    # Set when an ingest queues studies.refresh_series, cleared when that task starts: later
    # ingests of the series skip queueing another while one is waiting (see ingest).
    refresh_requested_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    study: Mapped[Study] = relationship(back_populates="series")
    instances: Mapped[list[Instance]] = relationship(back_populates="series")


class Instance(Base):
    __tablename__ = "instances"
    __table_args__ = (
        Index("ix_instances_series_pk", "series_pk"),
        Index("ix_instances_received_at", "received_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    series_pk: Mapped[int] = mapped_column(ForeignKey("series.id"))
    sop_instance_uid: Mapped[str] = mapped_column(String(64), unique=True)
    sop_class_uid: Mapped[str] = mapped_column(String(64))
    instance_number: Mapped[int | None] = mapped_column(Integer)
    transfer_syntax_uid: Mapped[str] = mapped_column(String(64))
    rows: Mapped[int | None] = mapped_column(Integer)
    columns: Mapped[int | None] = mapped_column(Integer)
    number_of_frames: Mapped[int | None] = mapped_column(Integer)
    bits_allocated: Mapped[int | None] = mapped_column(Integer)
    photometric_interpretation: Mapped[str] = mapped_column(String(16), default="")
    size: Mapped[int] = mapped_column(BigInteger)
    sha256: Mapped[str] = mapped_column(String(64))  # of the file's bytes
    # The instance's identity whatever its encoding (hounsfield.dicom.identity): the
    # dataset but pixel data, and the pixel data as stored. None: indexed before them.
    dataset_digest: Mapped[str | None] = mapped_column(String(64))
    pixel_digest: Mapped[str | None] = mapped_column(String(64))
    storage_key: Mapped[str] = mapped_column(String(160))
    # The storage's fingerprint of the object when its SHA-256 was last checked in full
    # (at ingest, on a read after a change, by the scrub): a read whose fingerprint still
    # matches skips the hash. None: check before serving. corrupt_at: when a check failed.
    verified_fingerprint: Mapped[str | None] = mapped_column(String(128))
    corrupt_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    origin: Mapped[str] = mapped_column(String(80), default="")
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    series: Mapped[Series] = relationship(back_populates="instances")
