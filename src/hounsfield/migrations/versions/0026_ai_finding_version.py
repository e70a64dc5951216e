"""ai_findings.version: optimistic concurrency for a doctor's edits of a finding

A finding's review (accept, reject, edit of its label or geometry) bumps its version; an
edit of an already reviewed finding must name the version it read (409 otherwise).

Revision ID: 0026_ai_finding_version
Revises: 0023_search_terms_sort_key
Create Date: 2026-12-04 22:15:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0026_ai_finding_version"
down_revision: str | None = "0023_search_terms_sort_key"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("ai_findings") as batch:
        batch.add_column(sa.Column("version", sa.Integer(), nullable=False, server_default="1"))


def downgrade() -> None:
    with op.batch_alter_table("ai_findings") as batch:
        batch.drop_column("version")
