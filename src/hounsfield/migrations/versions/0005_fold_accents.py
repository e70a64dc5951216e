"""name search text: add the accent-folded form of each word (fuzzy matching, issue 12.9c)

Revision ID: 0005_fold_accents
Revises: 0004_series_refresh
Create Date: 2026-12-01 21:00:00
"""

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

from hounsfield.dicom.charset import person_name_groups, search_text

revision: str = "0005_fold_accents"
down_revision: str | None = "0004_series_refresh"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# (table, the name as sent, its search text)
COLUMNS = (
    ("dicom_patients", "patient_name", "name_search"),
    ("studies", "referring_physician_name", "referring_physician_search"),
)


def refold(conn: sa.Connection) -> None:
    """Rebuild the search text of every non-ASCII name the way ingest now builds it."""
    for table_name, source, target in COLUMNS:
        table = sa.table(table_name, sa.column("id"), sa.column(source), sa.column(target))
        rows = conn.execute(sa.select(table.c.id, table.c[source], table.c[target])).all()
        for pk, name, current in rows:
            if not name or name.isascii():
                continue  # nothing to fold
            wanted = search_text(person_name_groups(name))[:1024]
            if wanted != current:
                conn.execute(sa.update(table).where(table.c.id == pk).values({target: wanted}))


def upgrade() -> None:
    refold(op.get_bind())


def downgrade() -> None:
    """The folded words are harmless to the previous code: nothing to undo."""
