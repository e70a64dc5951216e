"""Patient records (患者档案), their search terms, visits, reconciliations and merges.

`patients` is the hospital's record of a person; `dicom_patients` (studies/models.py) stays
the index of what DICOM objects say, and links here through `patient_record_id`.
The national ID and phone are stored only encrypted (`*_enc`, with the key's id) and as a
keyed hash for exact search (`*_hash`); see crypto.py.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import (
    BigInteger,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.dialects import mysql, postgresql
from sqlalchemy.orm import Mapped, mapped_column

from hounsfield.db import Base, UTCDateTime, utcnow

BigId = BigInteger().with_variant(Integer(), "sqlite")
# Search terms compare by code point on every database, so that a prefix is a range scan
# of the index (SQLite's BINARY already does; MariaDB and PostgreSQL need to be told).
TermString = (
    String(64)
    .with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")
    .with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")
)


class PatientRecord(Base):
    __tablename__ = "patients"
    __table_args__ = (
        UniqueConstraint("mrn", "issuer"),
        Index("ix_patients_sort_name", "sort_name"),
        Index("ix_patients_birth_date", "birth_date"),
        Index("ix_patients_created_at", "created_at"),
        Index("ix_patients_national_id_hash", "national_id_hash"),
        Index("ix_patients_phone_hash", "phone_hash"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    mrn: Mapped[str] = mapped_column(String(64))
    issuer: Mapped[str] = mapped_column(String(64), default="")
    name_ideographic: Mapped[str] = mapped_column(String(200), default="")  # 张^三丰
    name_alphabetic: Mapped[str] = mapped_column(String(200), default="")  # Zhang^Sanfeng
    name_phonetic: Mapped[str] = mapped_column(String(200), default="")
    sort_name: Mapped[str] = mapped_column(String(200), default="")  # pinyin or Latin, folded
    sex: Mapped[str] = mapped_column(String(1), default="")
    birth_date: Mapped[date | None] = mapped_column(Date)
    key_id: Mapped[str | None] = mapped_column(String(16))  # of national_id_enc and phone_enc
    national_id_enc: Mapped[str | None] = mapped_column(String(128))
    national_id_hash: Mapped[str | None] = mapped_column(String(64))
    phone_enc: Mapped[str | None] = mapped_column(String(128))
    phone_hash: Mapped[str | None] = mapped_column(String(64))
    address: Mapped[str] = mapped_column(String(255), default="")
    allergies: Mapped[str] = mapped_column(String(1000), default="")
    notes: Mapped[str] = mapped_column(String(2000), default="")
    version: Mapped[int] = mapped_column(Integer, default=1)
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("patients.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime, index=True)


class PatientSearchTerm(Base):
    """One way to find a visible patient: a folded prefix-searchable term (see search.py).

    The key carries the patient's `sort_name`, so that a search's count and its page by
    name are one covering range scan of the key, never a look-up per match in `patients`
    (InnoDB clusters on the key; on SQLite the table is WITHOUT ROWID, the key is the
    table). Hidden (deleted, merged) records have no terms.
    """

    __tablename__ = "patient_search_terms"
    __table_args__ = (
        Index("ix_patient_search_terms_patient_id", "patient_id"),
        {"sqlite_with_rowid": False},
    )

    term: Mapped[str] = mapped_column(TermString, primary_key=True)
    sort_name: Mapped[str] = mapped_column(String(200), primary_key=True)  # patients.sort_name
    patient_id: Mapped[int] = mapped_column(
        ForeignKey("patients.id", ondelete="CASCADE"), primary_key=True
    )


class Visit(Base):
    """就诊记录: one outpatient, inpatient, emergency or physical-examination visit."""

    __tablename__ = "patient_visits"
    __table_args__ = (Index("ix_patient_visits_patient_id", "patient_id", "visit_date"),)

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    visit_date: Mapped[date] = mapped_column(Date)
    visit_type: Mapped[str] = mapped_column(String(16))
    department: Mapped[str] = mapped_column(String(64), default="")
    attending_doctor: Mapped[str] = mapped_column(String(64), default="")
    chief_complaint: Mapped[str] = mapped_column(String(1000), default="")
    diagnosis: Mapped[str] = mapped_column(String(1000), default="")
    icd10_code: Mapped[str] = mapped_column(String(16), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Reconciliation(Base):
    """A study whose demographics differ from its patient record, waiting for a person."""

    __tablename__ = "patient_reconciliations"
    __table_args__ = (
        UniqueConstraint("study_instance_uid", "patient_id"),
        Index("ix_patient_reconciliations_patient_id", "patient_id"),
        Index("ix_patient_reconciliations_resolved_at", "resolved_at"),
    )

    id: Mapped[int] = mapped_column(BigId, primary_key=True, autoincrement=True)
    patient_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    study_instance_uid: Mapped[str] = mapped_column(String(64))
    differences: Mapped[str] = mapped_column(Text)  # JSON {field: {record, dicom}}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    resolution: Mapped[str] = mapped_column(String(16), default="")


class PatientMerge(Base):
    """A merge of `source` into `target` and exactly what moved, so that undo restores it."""

    __tablename__ = "patient_merges"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)
    source_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    target_id: Mapped[int] = mapped_column(ForeignKey("patients.id"))
    moved: Mapped[str] = mapped_column(Text)  # JSON {hook name: [row ids]}
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    undone_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
