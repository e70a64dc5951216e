"""SQL that gives the application's database account only what it needs.

The audit trail is append-only for the application (SECURITY.md U4): it may insert events
and seal them (set seq, prev_hash, hash), but never change their content or delete them.
Migrations run under a separate owner account.
"""

from __future__ import annotations

import re

from hounsfield.models import Base

APPEND_ONLY = {"audit_events": ("seq", "prev_hash", "hash")}
_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_]{0,62}$")


def grant_statements(dialect: str, app_user: str, database: str) -> list[str]:
    """GRANT statements for `app_user` on every table of the schema, per dialect."""
    if not _NAME.match(app_user) or not _NAME.match(database):
        raise ValueError("user and database names must be plain identifiers")
    tables = [*sorted(t.name for t in Base.metadata.sorted_tables), "alembic_version"]
    statements = []
    for table in tables:
        if dialect == "postgresql":
            target, who = f'"{table}"', f'"{app_user}"'
        else:
            target, who = f"`{database}`.`{table}`", f"'{app_user}'@'%'"
        if table in APPEND_ONLY:
            columns = ", ".join(APPEND_ONLY[table])
            statements.append(f"GRANT SELECT, INSERT ON {target} TO {who}")
            statements.append(f"GRANT UPDATE ({columns}) ON {target} TO {who}")
        elif table == "alembic_version":
            statements.append(f"GRANT SELECT ON {target} TO {who}")
        else:
            statements.append(f"GRANT SELECT, INSERT, UPDATE, DELETE ON {target} TO {who}")
    if dialect == "postgresql":
        statements.append(f'GRANT USAGE ON SCHEMA public TO "{app_user}"')
        statements.append(f'GRANT USAGE, SELECT ON ALL SEQUENCES IN SCHEMA public TO "{app_user}"')
    return statements
