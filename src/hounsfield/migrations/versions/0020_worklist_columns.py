"""studies.read_stage, read_claim_until, priority_rank: the worklist reads one row per study;
imaging_orders.version for order edits

Revision ID: 0020_worklist_columns
Revises: 0017_critical_results
Create Date: 2026-12-02 14:40:00

The reading worklist sorted and filtered on the read status (study_readings) and the
priority (imaging_orders) through two outer joins, so every page and count scanned every
live study. Both are now copied onto the study row, with indexes that serve each view
as one index range; this revision backfills them from the rows they copy.
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0020_worklist_columns"
down_revision: str | None = "0017_critical_results"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

When = hounsfield.db.UTCDateTime(timezone=True)

INDEXES = {
    "ix_studies_worklist_priority": [
        "deleted_at", "priority_rank", "received_at", "read_stage", "read_claim_until",
    ],
    "ix_studies_worklist_stage_priority": [
        "deleted_at", "read_stage", "priority_rank", "received_at",
    ],
    "ix_studies_worklist_stage_received": ["deleted_at", "read_stage", "received_at"],
    "ix_studies_worklist_counts": [
        "deleted_at", "read_stage", "read_claim_until", "modalities_in_study",
    ],
    "ix_studies_worklist_date": ["deleted_at", "study_date"],
}  # fmt: skip

_READING = "FROM study_readings r WHERE r.study_pk = studies.id"
_ORDER = "FROM imaging_orders o WHERE o.study_instance_uid = studies.study_instance_uid"


def upgrade() -> None:
    op.add_column("studies", sa.Column("read_stage", sa.String(16), nullable=False,
                                       server_default="open"))  # fmt: skip
    op.add_column("studies", sa.Column("read_claim_until", When, nullable=True))
    op.add_column("studies", sa.Column("priority_rank", sa.SmallInteger(), nullable=False,
                                       server_default="2"))  # fmt: skip
    op.add_column("imaging_orders", sa.Column("version", sa.Integer(), nullable=False,
                                              server_default="1"))  # fmt: skip
    backfill(op.get_bind())
    for name, columns in INDEXES.items():
        op.create_index(name, "studies", columns)


def backfill(conn: sa.Connection) -> None:
    """Copy each study's read status, live claim and order priority onto the study."""
    conn.execute(sa.text(
        "UPDATE studies SET "  # nosec B608: constant subqueries, no input
        "read_stage = (SELECT CASE WHEN r.status IN ('unread', 'in_reading') THEN 'open' "
        f"ELSE r.status END {_READING}), "
        f"read_claim_until = (SELECT CASE WHEN r.status = 'in_reading' "
        f"THEN r.claim_expires_at END {_READING}) "
        f"WHERE EXISTS (SELECT 1 {_READING})"
    ))  # fmt: skip
    conn.execute(sa.text(
        "UPDATE studies SET priority_rank = (SELECT CASE o.priority WHEN 'stat' THEN 0 "  # nosec B608
        f"WHEN 'urgent' THEN 1 ELSE 2 END {_ORDER}) WHERE EXISTS (SELECT 1 {_ORDER})"
    ))  # fmt: skip


def downgrade() -> None:
    for name in INDEXES:
        op.drop_index(name, table_name="studies")
    with op.batch_alter_table("imaging_orders") as batch:
        batch.drop_column("version")
    with op.batch_alter_table("studies") as batch:
        batch.drop_column("priority_rank")
        batch.drop_column("read_claim_until")
        batch.drop_column("read_stage")
