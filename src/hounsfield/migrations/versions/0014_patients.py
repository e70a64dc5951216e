"""patients (records, search terms, visits, reconciliations, merges); dicom_patients link

Revision ID: 0014_patients
Revises: 0013_notifications
Create Date: 2026-12-02 00:50:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

import hounsfield.db

revision: str = "0014_patients"
down_revision: str | None = "0013_notifications"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TermString = (
    sa.String(64)
    .with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")
    .with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")
)


def _when(name: str, nullable: bool = False) -> sa.Column[object]:
    return sa.Column(name, hounsfield.db.UTCDateTime(timezone=True), nullable=nullable)


def upgrade() -> None:
    op.create_table(
        "patients",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("mrn", sa.String(64), nullable=False),
        sa.Column("issuer", sa.String(64), nullable=False),
        sa.Column("name_ideographic", sa.String(200), nullable=False),
        sa.Column("name_alphabetic", sa.String(200), nullable=False),
        sa.Column("name_phonetic", sa.String(200), nullable=False),
        sa.Column("sort_name", sa.String(200), nullable=False),
        sa.Column("sex", sa.String(1), nullable=False),
        sa.Column("birth_date", sa.Date(), nullable=True),
        sa.Column("key_id", sa.String(16), nullable=True),
        sa.Column("national_id_enc", sa.String(128), nullable=True),
        sa.Column("national_id_hash", sa.String(64), nullable=True),
        sa.Column("phone_enc", sa.String(128), nullable=True),
        sa.Column("phone_hash", sa.String(64), nullable=True),
        sa.Column("address", sa.String(255), nullable=False),
        sa.Column("allergies", sa.String(1000), nullable=False),
        sa.Column("notes", sa.String(2000), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("merged_into_id", BigId, nullable=True),
        _when("created_at"),
        _when("updated_at"),
        _when("deleted_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["merged_into_id"], ["patients.id"], name=op.f("fk_patients_merged_into_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patients")),
        sa.UniqueConstraint("mrn", "issuer", name=op.f("uq_patients_mrn")),
    )
    for name, column in (
        ("ix_patients_sort_name", "sort_name"),
        ("ix_patients_birth_date", "birth_date"),
        ("ix_patients_created_at", "created_at"),
        ("ix_patients_national_id_hash", "national_id_hash"),
        ("ix_patients_phone_hash", "phone_hash"),
        ("ix_patients_deleted_at", "deleted_at"),
    ):
        op.create_index(name, "patients", [column])

    op.create_table(
        "patient_search_terms",
        sa.Column("term", TermString, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_search_terms_patient_id_patients"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("term", "patient_id", name=op.f("pk_patient_search_terms")),
    )
    op.create_index("ix_patient_search_terms_patient_id", "patient_search_terms", ["patient_id"])

    op.create_table(
        "patient_visits",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("visit_date", sa.Date(), nullable=False),
        sa.Column("visit_type", sa.String(16), nullable=False),
        sa.Column("department", sa.String(64), nullable=False),
        sa.Column("attending_doctor", sa.String(64), nullable=False),
        sa.Column("chief_complaint", sa.String(1000), nullable=False),
        sa.Column("diagnosis", sa.String(1000), nullable=False),
        sa.Column("icd10_code", sa.String(16), nullable=False),
        _when("created_at"),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_patient_visits_patient_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_visits")),
    )
    op.create_index("ix_patient_visits_patient_id", "patient_visits", ["patient_id", "visit_date"])

    op.create_table(
        "patient_reconciliations",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("differences", sa.Text(), nullable=False),
        _when("created_at"),
        _when("resolved_at", nullable=True),
        sa.Column("resolution", sa.String(16), nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=op.f("fk_patient_reconciliations_patient_id_patients"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_reconciliations")),
        sa.UniqueConstraint(
            "study_instance_uid",
            "patient_id",
            name=op.f("uq_patient_reconciliations_study_instance_uid"),
        ),
    )
    op.create_index(
        "ix_patient_reconciliations_patient_id", "patient_reconciliations", ["patient_id"]
    )
    op.create_index(
        "ix_patient_reconciliations_resolved_at", "patient_reconciliations", ["resolved_at"]
    )

    op.create_table(
        "patient_merges",
        sa.Column("id", sa.String(32), nullable=False),
        sa.Column("source_id", BigId, nullable=False),
        sa.Column("target_id", BigId, nullable=False),
        sa.Column("moved", sa.Text(), nullable=False),
        _when("created_at"),
        _when("undone_at", nullable=True),
        sa.ForeignKeyConstraint(
            ["source_id"], ["patients.id"], name=op.f("fk_patient_merges_source_id_patients")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["patients.id"], name=op.f("fk_patient_merges_target_id_patients")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_patient_merges")),
    )

    with op.batch_alter_table("dicom_patients", schema=None) as batch_op:
        batch_op.add_column(sa.Column("patient_record_id", BigId, nullable=True))
        batch_op.create_index("ix_dicom_patients_patient_record_id", ["patient_record_id"])
        batch_op.create_foreign_key(
            "fk_dicom_patients_patient_record_id_patients",
            "patients",
            ["patient_record_id"],
            ["id"],
        )


def downgrade() -> None:
    with op.batch_alter_table("dicom_patients", schema=None) as batch_op:
        batch_op.drop_constraint("fk_dicom_patients_patient_record_id_patients", type_="foreignkey")
        batch_op.drop_index("ix_dicom_patients_patient_record_id")
        batch_op.drop_column("patient_record_id")
    op.drop_table("patient_merges")
    op.drop_table("patient_reconciliations")
    op.drop_table("patient_visits")
    op.drop_table("patient_search_terms")
    op.drop_table("patients")
