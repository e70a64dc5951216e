"""DICOM archive index: patients, studies, series, instances

Revision ID: 0002_archive
Revises: 0001_foundation
Create Date: 2026-11-28 08:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0002_archive"
down_revision: str | None = "0001_foundation"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    op.create_table(
        "dicom_patients",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("patient_id", sa.String(length=64), nullable=False),
        sa.Column("issuer_of_patient_id", sa.String(length=64), nullable=False),
        sa.Column("patient_name", sa.String(length=324), nullable=False),
        sa.Column("name_alphabetic", sa.String(length=200), nullable=False),
        sa.Column("name_ideographic", sa.String(length=200), nullable=False),
        sa.Column("name_phonetic", sa.String(length=200), nullable=False),
        sa.Column("name_search", sa.String(length=1024), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("sex", sa.String(length=16), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dicom_patients")),
        sa.UniqueConstraint(
            "patient_id", "issuer_of_patient_id", name=op.f("uq_dicom_patients_patient_id")
        ),
    )
    op.create_index(
        "ix_dicom_patients_name_alphabetic", "dicom_patients", ["name_alphabetic"], unique=False
    )
    op.create_index(
        "ix_dicom_patients_name_ideographic", "dicom_patients", ["name_ideographic"], unique=False
    )

    op.create_table(
        "studies",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("patient_pk", BigId, nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("accession_number", sa.String(length=64), nullable=False),
        sa.Column("study_id", sa.String(length=64), nullable=False),
        sa.Column("study_date", sa.Date(), nullable=True),
        sa.Column("study_time", sa.String(length=16), nullable=False),
        sa.Column("study_description", sa.String(length=255), nullable=False),
        sa.Column("referring_physician_name", sa.String(length=324), nullable=False),
        sa.Column("referring_physician_search", sa.String(length=1024), nullable=False),
        sa.Column("modalities_in_study", sa.String(length=128), nullable=False),
        sa.Column("number_of_series", sa.Integer(), nullable=False),
        sa.Column("number_of_instances", sa.Integer(), nullable=False),
        sa.Column("received_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["patient_pk"],
            ["dicom_patients.id"],
            name=op.f("fk_studies_patient_pk_dicom_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_studies")),
        sa.UniqueConstraint("study_instance_uid", name=op.f("uq_studies_study_instance_uid")),
    )
    op.create_index("ix_studies_study_date", "studies", ["study_date"], unique=False)
    op.create_index("ix_studies_accession_number", "studies", ["accession_number"], unique=False)
    op.create_index("ix_studies_received_at", "studies", ["received_at"], unique=False)
    op.create_index("ix_studies_patient_pk", "studies", ["patient_pk"], unique=False)
    op.create_index("ix_studies_deleted_at", "studies", ["deleted_at"], unique=False)

    op.create_table(
        "series",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("study_pk", BigId, nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("series_number", sa.Integer(), nullable=True),
        sa.Column("series_description", sa.String(length=255), nullable=False),
        sa.Column("body_part_examined", sa.String(length=64), nullable=False),
        sa.Column("number_of_instances", sa.Integer(), nullable=False),
        sa.Column("metadata_version", sa.Integer(), nullable=False),
        sa.Column("received_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["study_pk"], ["studies.id"], name=op.f("fk_series_study_pk_studies")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_series")),
        sa.UniqueConstraint("series_instance_uid", name=op.f("uq_series_series_instance_uid")),
    )
    op.create_index("ix_series_study_pk", "series", ["study_pk"], unique=False)
    op.create_index("ix_series_modality", "series", ["modality"], unique=False)
    op.create_index("ix_series_received_at", "series", ["received_at"], unique=False)

    op.create_table(
        "instances",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("series_pk", BigId, nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("sop_class_uid", sa.String(length=64), nullable=False),
        sa.Column("instance_number", sa.Integer(), nullable=True),
        sa.Column("transfer_syntax_uid", sa.String(length=64), nullable=False),
        sa.Column("rows", sa.Integer(), nullable=True),
        sa.Column("columns", sa.Integer(), nullable=True),
        sa.Column("number_of_frames", sa.Integer(), nullable=True),
        sa.Column("bits_allocated", sa.Integer(), nullable=True),
        sa.Column("photometric_interpretation", sa.String(length=16), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("storage_key", sa.String(length=160), nullable=False),
        sa.Column("origin", sa.String(length=80), nullable=False),
        sa.Column("received_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("deleted_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["series_pk"], ["series.id"], name=op.f("fk_instances_series_pk_series")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_instances")),
        sa.UniqueConstraint("sop_instance_uid", name=op.f("uq_instances_sop_instance_uid")),
    )
    op.create_index("ix_instances_series_pk", "instances", ["series_pk"], unique=False)
    op.create_index("ix_instances_received_at", "instances", ["received_at"], unique=False)


def downgrade() -> None:
    op.drop_table("instances")
    op.drop_table("series")
    op.drop_table("studies")
    op.drop_table("dicom_patients")
