"""instances.verified_fingerprint, corrupt_at: reads skip the SHA-256 of unchanged objects

Revision ID: 0011_object_verification
Revises: 0010_groups_break_glass
Create Date: 2026-12-01 21:30:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0011_object_verification"
down_revision: str | None = "0010_groups_break_glass"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.add_column(sa.Column("verified_fingerprint", sa.String(128), nullable=True))
        batch_op.add_column(
            sa.Column("corrupt_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table("instances", schema=None) as batch_op:
        batch_op.drop_column("corrupt_at")
        batch_op.drop_column("verified_fingerprint")
