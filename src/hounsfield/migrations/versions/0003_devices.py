"""DICOM device registry

Revision ID: 0003_devices
Revises: 0002_archive
Create Date: 2026-11-28 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

import hounsfield.db

revision: str = "0003_devices"
down_revision: str | None = "0002_archive"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "devices",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("ae_title", sa.String(length=16), nullable=False),
        sa.Column("host", sa.String(length=255), nullable=False),
        sa.Column("port", sa.Integer(), nullable=False),
        sa.Column("modality", sa.String(length=16), nullable=False),
        sa.Column("department", sa.String(length=64), nullable=False),
        sa.Column("description", sa.String(length=255), nullable=False),
        sa.Column("operations", sa.String(length=32), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("tls", sa.Boolean(), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_devices")),
        sa.UniqueConstraint("ae_title", name=op.f("uq_devices_ae_title")),
    )
    op.create_table(
        "dimse_jobs",
        sa.Column("id", sa.Uuid(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("device_id", sa.Uuid(), nullable=False),
        sa.Column("study_instance_uid", sa.String(length=64), nullable=False),
        sa.Column("series_instance_uid", sa.String(length=64), nullable=True),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("total", sa.Integer(), nullable=False),
        sa.Column("completed", sa.Integer(), nullable=False),
        sa.Column("failed", sa.Integer(), nullable=False),
        sa.Column("warning", sa.Integer(), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("error", sa.String(length=255), nullable=True),
        sa.Column("requested_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", hounsfield.db.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_dimse_jobs")),
    )


def downgrade() -> None:
    op.drop_table("dimse_jobs")
    op.drop_table("devices")
