"""instance identity digests; each study's own patient attributes

Revision ID: 0009_instance_identity
Revises: 0008_outbox_claim
Create Date: 2026-12-01 21:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009_instance_identity"
down_revision: str | None = "0008_outbox_claim"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    with op.batch_alter_table("instances") as batch:
        batch.add_column(sa.Column("dataset_digest", sa.String(length=64), nullable=True))
        batch.add_column(sa.Column("pixel_digest", sa.String(length=64), nullable=True))
    with op.batch_alter_table("studies") as batch:
        batch.add_column(
            sa.Column("patient_name", sa.String(length=324), nullable=False, server_default="")
        )
        batch.add_column(sa.Column("patient_birth_date", sa.Date(), nullable=True))
        batch.add_column(
            sa.Column("patient_sex", sa.String(length=16), nullable=False, server_default="")
        )
    # Existing studies: the best knowledge there is, their patient row's attributes.
    op.execute(
        "UPDATE studies SET"
        " patient_name = (SELECT p.patient_name FROM dicom_patients p"
        " WHERE p.id = studies.patient_pk),"
        " patient_birth_date = (SELECT p.birth_date FROM dicom_patients p"
        " WHERE p.id = studies.patient_pk),"
        " patient_sex = (SELECT p.sex FROM dicom_patients p WHERE p.id = studies.patient_pk)"
    )


def downgrade() -> None:
    with op.batch_alter_table("studies") as batch:
        batch.drop_column("patient_sex")
        batch.drop_column("patient_birth_date")
        batch.drop_column("patient_name")
    with op.batch_alter_table("instances") as batch:
        batch.drop_column("pixel_digest")
        batch.drop_column("dataset_digest")
