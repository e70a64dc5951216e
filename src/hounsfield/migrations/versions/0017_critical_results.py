"""critical_results (危急值)

Revision ID: 0017_critical_results
Revises: 0016_reports
Create Date: 2026-12-02 02:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0017_critical_results"
down_revision: str | None = "0016_reports"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

When = hounsfield.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "critical_results",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(64), nullable=False),
        sa.Column("report_id", sa.Uuid(), sa.ForeignKey("reports.id"), nullable=True),
        sa.Column("finding", sa.Text(), nullable=False),
        sa.Column("contacts", sa.JSON(), nullable=False),
        sa.Column("contact_index", sa.Integer(), nullable=False),
        sa.Column("flagged_by_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=False),
        sa.Column("flagged_at", When, nullable=False),
        sa.Column("notified_at", When, nullable=False),
        sa.Column("acknowledged_by_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("acknowledged_at", When, nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index(
        "ix_critical_results_study_instance_uid", "critical_results", ["study_instance_uid"]
    )
    op.create_index(
        "ix_critical_results_open", "critical_results", ["acknowledged_at", "notified_at"]
    )


def downgrade() -> None:
    op.drop_table("critical_results")
