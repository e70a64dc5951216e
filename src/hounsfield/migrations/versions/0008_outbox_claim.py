"""task_outbox.claimed_at: an entry is run by one process at a time

Revision ID: 0008_outbox_claim
Revises: 0007_api_keys
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0008_outbox_claim"
down_revision: str | None = "0007_api_keys"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("task_outbox", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column("claimed_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("task_outbox", schema=None) as batch_op:
        batch_op.drop_column("claimed_at")
