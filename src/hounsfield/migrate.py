"""Apply Alembic migrations programmatically (the CLI, `make run` and the tests use this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config

from hounsfield.db import transaction

MIGRATIONS = Path(__file__).parent / "migrations"


def alembic_config() -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.set_main_option("file_template", "%%(rev)s")
    return config


def upgrade(revision: str = "head") -> None:
    """Migrate the configured database, then make sure the built-in roles, templates and
    phrases exist."""
    from hounsfield.reports.phrases import ensure_starter_phrases
    from hounsfield.reports.templates import ensure_starter_templates
    from hounsfield.users.service import ensure_builtin_roles

    command.upgrade(alembic_config(), revision)
    with transaction(write=True) as session:
        ensure_builtin_roles(session)
        ensure_starter_templates(session)
        ensure_starter_phrases(session)


def current_revision() -> str | None:
    """The revision the configured database is at (None before the first migration)."""
    from alembic.runtime.migration import MigrationContext

    from hounsfield.db import get_engine

    with get_engine().connect() as conn:
        return MigrationContext.configure(conn).get_current_revision()
