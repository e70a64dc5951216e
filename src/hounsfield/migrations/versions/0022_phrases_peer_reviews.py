"""report_phrases (常用语) and peer_reviews (RADPEER)

Revision ID: 0022_phrases_peer_reviews
Revises: 0021_must_change_password
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0022_phrases_peer_reviews"
down_revision: str | None = "0021_must_change_password"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

When = hounsfield.db.UTCDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "report_phrases",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "owner_id", sa.Uuid(), sa.ForeignKey("users.id", ondelete="CASCADE"), nullable=True
        ),
        sa.Column("owner_key", sa.String(36), nullable=False),
        sa.Column("shortcut", sa.String(16), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("modality", sa.String(16), nullable=True),
        sa.Column("language", sa.String(8), nullable=True),
        sa.Column("builtin", sa.Boolean(), nullable=False),
        sa.Column("created_at", When, nullable=False),
        sa.Column("updated_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("owner_key", "shortcut"),
    )
    op.create_table(
        "peer_reviews",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column(
            "report_id", sa.Uuid(), sa.ForeignKey("reports.id", ondelete="CASCADE"),
            nullable=False,
        ),
        sa.Column("open_report_id", sa.Uuid(), nullable=True, unique=True),
        sa.Column("reviewer_id", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("assigned_at", When, nullable=True),
        sa.Column("status", sa.String(16), nullable=False),
        sa.Column("score", sa.Integer(), nullable=True),
        sa.Column("significance", sa.String(1), nullable=True),
        sa.Column("comment", sa.Text(), nullable=False),
        sa.Column("reviewed_at", When, nullable=True),
        sa.Column("created_by", sa.Uuid(), sa.ForeignKey("users.id"), nullable=True),
        sa.Column("created_at", When, nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )  # fmt: skip
    op.create_index("ix_peer_reviews_report_id", "peer_reviews", ["report_id"])
    op.create_index("ix_peer_reviews_reviewer_status", "peer_reviews", ["reviewer_id", "status"])
    op.create_index("ix_peer_reviews_created_at", "peer_reviews", ["created_at"])


def downgrade() -> None:
    op.drop_table("peer_reviews")
    op.drop_table("report_phrases")
