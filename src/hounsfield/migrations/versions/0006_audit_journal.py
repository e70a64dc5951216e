"""audit journal segments drained, and the export cursor of each audit sink

Revision ID: 0006_audit_journal
Revises: 0005_fold_accents
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0006_audit_journal"
down_revision: str | None = "0005_fold_accents"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "audit_journal_segments",
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("drained_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_audit_journal_segments")),
    )
    op.create_table(
        "audit_export_cursor",
        sa.Column("sink", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.PrimaryKeyConstraint("sink", name=op.f("pk_audit_export_cursor")),
    )


def downgrade() -> None:
    op.drop_table("audit_export_cursor")
    op.drop_table("audit_journal_segments")
