"""patient_search_terms keyed (term, sort_name, patient_id); hidden records keep no terms

The key carries the patient's sort name so that a search counts and pages by name from
the key alone (patients/search.py). The table is rebuilt: copied in batches of patient
ids from the old one, joined to `patients` for the sort name, leaving out hidden
(deleted, merged) records, whose terms the service now gives back when they return.

Revision ID: 0023_search_terms_sort_key
Revises: 0022_phrases_peer_reviews
Create Date: 2026-12-03 08:10:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import mysql, postgresql

revision: str = "0023_search_terms_sort_key"
down_revision: str | None = "0022_phrases_peer_reviews"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BATCH = 20_000  # patients per INSERT ... SELECT
TABLE = "patient_search_terms"
OLD = "patient_search_terms_0022"
BigId = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TermString = (
    sa.String(64)
    .with_variant(mysql.VARCHAR(64, collation="utf8mb4_bin"), "mysql", "mariadb")
    .with_variant(postgresql.VARCHAR(64, collation="C"), "postgresql")
)


def _set_aside_old() -> None:
    """Rename the old table and free the names the new one takes (the key, the foreign key:
    PostgreSQL names an index per schema, MariaDB a foreign key per database)."""
    dialect = op.get_bind().dialect.name
    if dialect != "sqlite":
        op.drop_constraint(f"fk_{TABLE}_patient_id_patients", TABLE, type_="foreignkey")
    op.rename_table(TABLE, OLD)
    if dialect == "postgresql":
        op.execute(
            "ALTER TABLE patient_search_terms_0022 RENAME "
            "CONSTRAINT pk_patient_search_terms TO pk_patient_search_terms_0022"
        )
        op.execute(
            "ALTER INDEX ix_patient_search_terms_patient_id "
            "RENAME TO ix_patient_search_terms_0022_patient_id"
        )
    elif dialect == "sqlite":
        op.execute("DROP INDEX ix_patient_search_terms_patient_id")  # names are per database
        op.execute(
            "CREATE INDEX ix_patient_search_terms_0022_patient_id "
            "ON patient_search_terms_0022 (patient_id)"
        )
    else:
        op.execute(
            "ALTER TABLE patient_search_terms_0022 RENAME "
            "INDEX ix_patient_search_terms_patient_id TO ix_patient_search_terms_0022_patient_id"
        )


def _copy(columns: str, selected: str, hidden_too: bool) -> None:
    """INSERT ... SELECT a batch of patient ids at a time (bounded statements and undo)."""
    bind = op.get_bind()
    top = bind.scalar(sa.text("SELECT max(id) FROM patients")) or 0
    visible = "" if hidden_too else " AND p.deleted_at IS NULL"
    statement = sa.text(
        f"INSERT INTO {TABLE} ({columns}) SELECT {selected} FROM {OLD} t "  # nosec B608: constants
        f"JOIN patients p ON p.id = t.patient_id "
        f"WHERE t.patient_id > :low AND t.patient_id <= :high{visible}"
    )
    for low in range(0, top, BATCH):
        bind.execute(statement, {"low": low, "high": low + BATCH})


def _new_table(with_sort_name: bool) -> None:
    key = ["term", "sort_name", "patient_id"] if with_sort_name else ["term", "patient_id"]
    sort_name = [sa.Column("sort_name", sa.String(200), nullable=False)] if with_sort_name else []
    op.create_table(
        TABLE,
        sa.Column("term", TermString, nullable=False),
        *sort_name,
        sa.Column("patient_id", BigId, nullable=False),
        sa.ForeignKeyConstraint(
            ["patient_id"],
            ["patients.id"],
            name=f"fk_{TABLE}_patient_id_patients",
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*key, name=f"pk_{TABLE}"),
        sqlite_with_rowid=not with_sort_name,
    )


def _finish() -> None:
    op.drop_table(OLD)
    op.create_index(f"ix_{TABLE}_patient_id", TABLE, ["patient_id"])


def upgrade() -> None:
    _set_aside_old()
    _new_table(with_sort_name=True)
    _copy("term, sort_name, patient_id", "t.term, p.sort_name, t.patient_id", hidden_too=False)
    _finish()


def downgrade() -> None:
    """The old layout, from the visible records' terms (hidden ones had none here)."""
    _set_aside_old()
    _new_table(with_sort_name=False)
    _copy("term, patient_id", "t.term, t.patient_id", hidden_too=True)
    _finish()
