"""SQLite commits are durable on return (D1): WAL with synchronous=FULL on every connection."""

from __future__ import annotations

import pytest
from sqlalchemy import text

from hounsfield.db import get_engine

pytestmark = pytest.mark.once


def test_every_sqlite_connection_commits_with_an_fsync() -> None:
    engine = get_engine()
    assert engine.dialect.name == "sqlite"
    with engine.connect() as conn:
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"
        assert conn.execute(text("PRAGMA synchronous")).scalar() == 2  # FULL
