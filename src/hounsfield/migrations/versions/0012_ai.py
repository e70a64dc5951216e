"""AI: model registry (models, immutable versions), runs and their findings

Revision ID: 0012_ai
Revises: 0011_object_verification
Create Date: 2026-12-02 00:40:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0012_ai"
down_revision: str | None = "0011_object_verification"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "ai_models",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("active_version_id", sa.Uuid(), nullable=True),
        sa.Column("auto_run", sa.Boolean(), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_models")),
        sa.UniqueConstraint("name", name=op.f("uq_ai_models_name")),
    )
    op.create_table(
        "ai_model_versions",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_id", sa.Uuid(), nullable=False),
        sa.Column("version", sa.String(length=32), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("task", sa.String(length=16), nullable=False),
        sa.Column("manifest", sa.Text(), nullable=False),
        sa.Column("storage_key", sa.String(length=160), nullable=True),
        sa.Column("sha256", sa.String(length=64), nullable=True),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_id"], ["ai_models.id"], name=op.f("fk_ai_model_versions_model_id_ai_models")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_model_versions")),
        sa.UniqueConstraint("model_id", "version", name=op.f("uq_ai_model_versions_model_id")),
    )
    op.create_table(
        "ai_runs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("model_version_id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reason_code", sa.String(length=64), nullable=True),
        sa.Column("reason", sa.String(length=500), nullable=True),
        sa.Column("triggered_by", sa.String(length=16), nullable=False),
        sa.Column("requested_by", sa.String(length=64), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("started_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("finished_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.Column("latency_ms", sa.Float(), nullable=True),
        sa.Column("images", sa.Integer(), nullable=False),
        sa.Column("sr_sop_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("seg_sop_instance_uid", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["model_version_id"],
            ["ai_model_versions.id"],
            name=op.f("fk_ai_runs_model_version_id_ai_model_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_runs")),
    )
    with op.batch_alter_table("ai_runs", schema=None) as batch_op:
        batch_op.create_index("ix_ai_runs_series", ["series_instance_uid"], unique=False)
        batch_op.create_index("ix_ai_runs_study", ["study_instance_uid"], unique=False)
        batch_op.create_index(
            "ix_ai_runs_version_created", ["model_version_id", "created_at"], unique=False
        )

    op.create_table(
        "ai_findings",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("run_id", sa.Uuid(), nullable=False),
        sa.Column("ordinal", sa.Integer(), nullable=False),
        sa.Column("label", sa.String(length=64), nullable=False),
        sa.Column("probability", sa.Float(), nullable=False),
        sa.Column("sop_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("frame", sa.Integer(), nullable=True),
        sa.Column("geometry", sa.Text(), nullable=False),
        sa.Column("measurements", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("edited_label", sa.String(length=64), nullable=True),
        sa.Column("edited_geometry", sa.Text(), nullable=True),
        sa.Column("review_comment", sa.String(length=500), nullable=True),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["run_id"], ["ai_runs.id"], name=op.f("fk_ai_findings_run_id_ai_runs")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ai_findings")),
    )
    with op.batch_alter_table("ai_findings", schema=None) as batch_op:
        batch_op.create_index("ix_ai_findings_run", ["run_id"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("ai_findings", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_findings_run")

    op.drop_table("ai_findings")
    with op.batch_alter_table("ai_runs", schema=None) as batch_op:
        batch_op.drop_index("ix_ai_runs_version_created")
        batch_op.drop_index("ix_ai_runs_study")
        batch_op.drop_index("ix_ai_runs_series")

    op.drop_table("ai_runs")
    op.drop_table("ai_model_versions")
    op.drop_table("ai_models")
