"""imaging_orders, study_readings, hl7_messages: orders, the two worklists, HL7 intake

Revision ID: 0015_orders_worklist
Revises: 0014_patients
Create Date: 2026-12-02 01:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0015_orders_worklist"
down_revision: str | None = "0014_patients"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = hounsfield.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "imaging_orders",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("patient_id", BigId, nullable=False),
        sa.Column("accession_number", sa.String(16), nullable=True),
        sa.Column("procedure", sa.String(64), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("body_part", sa.String(64), nullable=False),
        sa.Column("priority", sa.String(16), nullable=False),
        sa.Column("clinical_question", sa.String(1024), nullable=False),
        sa.Column("ordering_doctor", sa.String(64), nullable=False),
        sa.Column("ordering_department", sa.String(64), nullable=False),
        sa.Column("patient_source", sa.String(16), nullable=False),
        sa.Column("scheduled_at", When, nullable=False),
        sa.Column("station_ae", sa.String(16), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("placer_order_number", sa.String(32), nullable=True),
        sa.Column("study_instance_uid", sa.String(64), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_imaging_orders")),
        sa.ForeignKeyConstraint(
            ["patient_id"], ["patients.id"], name=op.f("fk_imaging_orders_patient_id_patients")
        ),
        sa.UniqueConstraint("accession_number", name=op.f("uq_imaging_orders_accession_number")),
        sa.UniqueConstraint(
            "study_instance_uid", name=op.f("uq_imaging_orders_study_instance_uid")
        ),
        sa.UniqueConstraint(
            "placer_order_number", name=op.f("uq_imaging_orders_placer_order_number")
        ),
    )
    op.create_index(
        "ix_imaging_orders_status_scheduled_at", "imaging_orders", ["status", "scheduled_at"]
    )
    op.create_index("ix_imaging_orders_patient_id", "imaging_orders", ["patient_id"])
    op.create_table(
        "study_readings",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("study_pk", BigId, nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("assigned_to_id", sa.Uuid(), nullable=True),
        sa.Column("claimed_by_id", sa.Uuid(), nullable=True),
        sa.Column("claim_expires_at", When, nullable=True),
        sa.Column("preliminary_at", When, nullable=True),
        sa.Column("final_at", When, nullable=True),
        sa.Column("reported_by_id", sa.Uuid(), nullable=True),
        sa.Column("final_by_id", sa.Uuid(), nullable=True),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_study_readings")),
        sa.UniqueConstraint("study_pk", name=op.f("uq_study_readings_study_pk")),
        sa.ForeignKeyConstraint(
            ["study_pk"], ["studies.id"], ondelete="CASCADE",
            name=op.f("fk_study_readings_study_pk_studies"),
        ),
        *(
            sa.ForeignKeyConstraint(
                [column], ["users.id"], name=op.f(f"fk_study_readings_{column}_users")
            )
            for column in ("assigned_to_id", "claimed_by_id", "reported_by_id", "final_by_id")
        ),
    )  # fmt: skip
    op.create_index("ix_study_readings_status", "study_readings", ["status"])
    op.create_index("ix_study_readings_assigned_to_id", "study_readings", ["assigned_to_id"])
    op.create_table(
        "hl7_messages",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column("received_at", When, nullable=False),
        sa.Column("peer", sa.String(64), nullable=False),
        sa.Column("sending_application", sa.String(64), nullable=False),
        sa.Column("control_id", sa.String(64), nullable=False),
        sa.Column("message_type", sa.String(32), nullable=False),
        sa.Column("ack_code", sa.String(2), nullable=False),
        sa.Column("reason_code", sa.String(64), nullable=False),
        sa.Column("reason", sa.String(255), nullable=False),
        sa.Column("raw", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_hl7_messages")),
    )
    op.create_index(
        "ix_hl7_messages_sender_control_id", "hl7_messages", ["sending_application", "control_id"]
    )
    op.create_index("ix_hl7_messages_ack_code", "hl7_messages", ["ack_code", "received_at"])


def downgrade() -> None:
    op.drop_table("hl7_messages")
    op.drop_table("study_readings")
    op.drop_table("imaging_orders")
