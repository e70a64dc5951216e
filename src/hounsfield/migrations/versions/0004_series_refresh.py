"""series.refresh_requested_at: coalesce derived-work requests per series

Revision ID: 0004_series_refresh
Revises: 0003_devices
Create Date: 2026-11-28 08:45:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0004_series_refresh"
down_revision: str | None = "0003_devices"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.add_column(
            sa.Column(
                "refresh_requested_at", hounsfield.db.UTCDateTime(timezone=True), nullable=True
            )
        )


def downgrade() -> None:
    with op.batch_alter_table("series", schema=None) as batch_op:
        batch_op.drop_column("refresh_requested_at")
