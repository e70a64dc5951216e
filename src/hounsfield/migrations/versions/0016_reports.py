"""reports, report_versions, report_templates, report_signing_keys

Revision ID: 0016_reports
Revises: 0015_orders_worklist
Create Date: 2026-12-02 02:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0016_reports"
down_revision: str | None = "0015_orders_worklist"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
When = hounsfield.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_templates",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("language", sa.String(8), nullable=False),
        sa.Column("name", sa.String(128), nullable=False),
        sa.Column("modality", sa.String(16), nullable=False),
        sa.Column("body_part", sa.String(64), nullable=False),
        sa.Column("sections", sa.JSON(), nullable=False),
        sa.Column("fields", sa.JSON(), nullable=False),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("code", "language"),
    )
    op.create_table(
        "reports",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("template_id", sa.Uuid(), sa.ForeignKey("report_templates.id"), nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("findings", sa.Text(), nullable=False),
        sa.Column("impression", sa.Text(), nullable=False),
        sa.Column("recommendation", sa.Text(), nullable=False),
        sa.Column("addenda", sa.JSON(), nullable=False),
        sa.Column("structured", sa.JSON(), nullable=False),
        sa.Column("key_images", sa.JSON(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("author_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("approver_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.Column("submitted_at", When, nullable=True),
        sa.Column("approved_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_reports_study_instance_uid", "reports", ["study_instance_uid"])
    op.create_index("ix_reports_status", "reports", ["status"])
    op.create_table(
        "report_versions",
        sa.Column("id", BigId, autoincrement=True, nullable=False),
        sa.Column(
            "report_id", sa.Uuid(), sa.ForeignKey("reports.id", ondelete="CASCADE"), nullable=False
        ),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("content", sa.JSON(), nullable=False),
        sa.Column("saved_by_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("saved_at", When, nullable=False),
        sa.Column("reason", sa.String(1024), nullable=False),
        sa.Column("signature", sa.String(128), nullable=True),
        sa.Column("key_id", sa.String(32), nullable=True),
        sa.Column("signed_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("report_id", "number"),
    )
    op.create_table(
        "report_signing_keys",
        sa.Column("key_id", sa.String(32), nullable=False),
        sa.Column("public_key", sa.String(64), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("key_id"),
    )


def downgrade() -> None:
    op.drop_table("report_signing_keys")
    op.drop_table("report_versions")
    op.drop_index("ix_reports_status", table_name="reports")
    op.drop_index("ix_reports_study_instance_uid", table_name="reports")
    op.drop_table("reports")
    op.drop_table("report_templates")
