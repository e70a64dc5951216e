"""Alembic environment: the URL comes from Hounsfield's settings, never from alembic.ini."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Connection

from hounsfield.db import get_engine
from hounsfield.models import Base

config = context.config
target_metadata = Base.metadata


def _run(connection: Connection) -> None:
    context.configure(
        connection=connection,
        target_metadata=target_metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
    )
    with context.begin_transaction():
        context.run_migrations()


connectable = config.attributes.get("connection")
if connectable is not None:
    _run(connectable)
else:
    with get_engine().connect() as connection:
        _run(connection)
