"""The application account cannot rewrite or delete audit events (SECURITY.md U4)."""

from __future__ import annotations

import uuid

import pytest
import sqlalchemy as sa
from sqlalchemy.engine import make_url

from hounsfield.audit import service
from hounsfield.audit.service import Anonymous
from hounsfield.db import get_engine, transaction
from hounsfield.grants import grant_statements

# A fresh account per run: PostgreSQL roles are cluster-wide and outlive test databases.
APP_USER = f"hf_app_{uuid.uuid4().hex[:10]}"
APP_PASSWORD = "Grants-Test-Only-1"


def _app_engine(database_url: str) -> sa.Engine:
    url = make_url(database_url)
    backend = url.get_backend_name()
    with get_engine().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if backend == "postgresql":
            exists = conn.scalar(
                sa.text("SELECT 1 FROM pg_roles WHERE rolname = :u"), {"u": APP_USER}
            )
            if exists:
                conn.execute(sa.text(f'DROP OWNED BY "{APP_USER}"'))
            conn.execute(sa.text(f'DROP ROLE IF EXISTS "{APP_USER}"'))
            conn.execute(sa.text(f"CREATE ROLE \"{APP_USER}\" LOGIN PASSWORD '{APP_PASSWORD}'"))
        else:
            conn.execute(sa.text(f"DROP USER IF EXISTS '{APP_USER}'@'%'"))
            conn.execute(sa.text(f"CREATE USER '{APP_USER}'@'%' IDENTIFIED BY '{APP_PASSWORD}'"))
        for statement in grant_statements(backend, APP_USER, url.database or ""):
            conn.execute(sa.text(statement))
    return sa.create_engine(url.set(username=APP_USER, password=APP_PASSWORD))


@pytest.mark.server_db
def test_app_account_may_append_and_seal_but_not_rewrite(database: str) -> None:
    with transaction() as session:
        service.record(session, "test.event", Anonymous("someone"))
    engine = _app_engine(database)
    try:
        with engine.begin() as conn:
            conn.execute(
                sa.text(
                    "INSERT INTO audit_events (occurred_at, action, event_code, outcome, "
                    "actor_roles, detail) VALUES (CURRENT_TIMESTAMP, 'x', '1', 0, '', '{}')"
                )
            )
            conn.execute(sa.text("UPDATE audit_events SET hash = NULL WHERE seq IS NULL"))
        for forbidden in (
            "UPDATE audit_events SET detail = '{\"x\": 1}'",
            "UPDATE audit_events SET actor_username = 'mallory'",
            "DELETE FROM audit_events",
        ):
            with pytest.raises(sa.exc.DBAPIError), engine.begin() as conn:
                conn.execute(sa.text(forbidden))
    finally:
        engine.dispose()
        _drop_account(database)


def _drop_account(database_url: str) -> None:
    with get_engine().connect() as conn:
        conn = conn.execution_options(isolation_level="AUTOCOMMIT")
        if make_url(database_url).get_backend_name() == "postgresql":
            conn.execute(sa.text(f'DROP OWNED BY "{APP_USER}"'))
            conn.execute(sa.text(f'DROP ROLE "{APP_USER}"'))
        else:
            conn.execute(sa.text(f"DROP USER '{APP_USER}'@'%'"))
