"""Test fixtures: a real, migrated database (SQLite, MariaDB or PostgreSQL) and a live app.

The database comes from HOUNSFIELD_TEST_DATABASE_URL (default: a SQLite file in a temp
directory). For MariaDB/PostgreSQL the URL names a throw-away database that is dropped and
re-created here, so the real migrations are tested on every backend.
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from sqlalchemy.engine import make_url

TEST_PASSWORD = "Correct-Horse-Battery-9"


def redis_url(db: int) -> str:
    """Database `db` of the local Redis, lowered by HOUNSFIELD_TEST_REDIS_OFFSET: the MariaDB
    and PostgreSQL passes run at once (`make test-server-dbs`), and each flushes and fills
    its own databases (login failures, lockouts, revocations, notifications)."""
    return f"redis://127.0.0.1:6379/{db - int(os.environ.get('HOUNSFIELD_TEST_REDIS_OFFSET', '0'))}"


def _recreate_database(url: str) -> None:
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return
    admin_db = "postgres" if parsed.get_backend_name() == "postgresql" else "mysql"
    engine = sa.create_engine(parsed.set(database=admin_db), isolation_level="AUTOCOMMIT")
    name = parsed.database
    if not name or not name.replace("_", "").isalnum():
        raise ValueError("the test database name must be letters, digits and _")
    with engine.connect() as conn:
        if parsed.get_backend_name() == "postgresql":
            conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
            conn.execute(sa.text(f"CREATE DATABASE \"{name}\" ENCODING 'UTF8'"))
        else:
            conn.execute(sa.text(f"DROP DATABASE IF EXISTS `{name}`"))
            conn.execute(
                sa.text(f"CREATE DATABASE `{name}` CHARACTER SET utf8mb4 COLLATE utf8mb4_bin")
            )
    engine.dispose()


@pytest.fixture(scope="session")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("hounsfield-data")


@pytest.fixture(scope="session", autouse=True)
def database(data_dir: Path) -> Iterator[str]:
    """Point the settings at a fresh database and run the real migrations once."""
    url = os.environ.get("HOUNSFIELD_TEST_DATABASE_URL") or f"sqlite:///{data_dir}/test.db"
    _recreate_database(url)
    os.environ["HOUNSFIELD_DATABASE_URL"] = url
    os.environ["HOUNSFIELD_DATA_DIR"] = str(data_dir)
    os.environ.pop("HOUNSFIELD_REDIS_URL", None)
    os.environ.pop("HOUNSFIELD_MODE", None)
    os.environ["HOUNSFIELD_DICOM__ENABLED"] = "false"  # tests start their own listener
    # No peer review drawn at random unless a test asks for it (tests/reports/test_peer_review.py)
    os.environ["HOUNSFIELD_REPORTS__PEER_REVIEW_RATE"] = "0"
    # TestClient's requests carry Host: testserver
    os.environ["HOUNSFIELD_ALLOWED_HOSTS"] = '["testserver", "localhost", "127.0.0.1", "::1"]'
    _reset_process_state()
    from hounsfield.migrate import upgrade

    upgrade()
    yield url
    from hounsfield.db import reset_engine

    reset_engine()


def _reset_process_state() -> None:
    from hounsfield.config import get_settings
    from hounsfield.db import reset_engine
    from hounsfield.kv import get_store

    get_settings.cache_clear()
    get_store.cache_clear()
    reset_engine()


@pytest.fixture(autouse=True)
def _clean_database(database: str) -> Iterator[None]:
    """Each test starts from migrated, empty tables (built-in roles and chain head only)."""
    yield
    from hounsfield.audit.service import sealer
    from hounsfield.auth.deps import forget_users
    from hounsfield.db import get_engine, transaction
    from hounsfield.kv import get_store
    from hounsfield.models import Base
    from hounsfield.reports.phrases import ensure_starter_phrases
    from hounsfield.reports.templates import ensure_starter_templates
    from hounsfield.users.service import ensure_builtin_roles
    from hounsfield.worker import shutdown_local_pool

    shutdown_local_pool(wait=True)  # background tasks end before their rows are deleted
    sealer.stop()
    forget_users()
    with get_engine().begin() as conn:
        for table in reversed(Base.metadata.sorted_tables):
            # A row pointing at another of its table (a merged patient): MariaDB checks the
            # constraint row by row while deleting, so those links go first.
            for key in table.foreign_keys:
                if key.column.table is table:
                    conn.execute(table.update().values({key.parent.name: None}))
            conn.execute(table.delete())
        conn.execute(sa.text("INSERT INTO audit_chain_head (id, seq, hash) VALUES (1, 0, :h)"),
                     {"h": "0" * 64})  # fmt: skip
    with transaction(write=True) as session:
        ensure_builtin_roles(session)
        ensure_starter_templates(session)
        ensure_starter_phrases(session)
    get_store.cache_clear()


@pytest.fixture
def settings_env(monkeypatch: pytest.MonkeyPatch) -> Callable[..., None]:
    """Change settings for one test: settings_env(HOUNSFIELD_REDIS_URL="redis://...")."""
    from hounsfield.config import get_settings
    from hounsfield.kv import get_store

    def apply(**env: str) -> None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        get_settings.cache_clear()
        get_store.cache_clear()

    yield apply  # type: ignore[misc]
    monkeypatch.undo()
    get_settings.cache_clear()
    get_store.cache_clear()


@pytest.fixture
def app() -> Any:
    from hounsfield.app import create_app

    return create_app()


@pytest.fixture
def client(app: Any) -> Iterator[TestClient]:
    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture
def make_user() -> Callable[..., Any]:
    """make_user(role="doctor", username=..., password=...) → the created User."""
    from hounsfield.config import get_settings
    from hounsfield.db import transaction
    from hounsfield.users import service
    from hounsfield.users.schemas import UserCreate

    def make(
        role: str | list[str] = "doctor",
        username: str | None = None,
        password: str = TEST_PASSWORD,
        **overrides: Any,
    ) -> Any:
        roles = [role] if isinstance(role, str) else role
        data = UserCreate(
            username=username or f"u{uuid.uuid4().hex[:10]}",
            password=password,
            roles=roles,
            **overrides,
        )
        with transaction(write=True) as session:
            return service.create_user(session, get_settings(), None, data)

    return make


def login(client: TestClient, username: str, password: str = TEST_PASSWORD) -> dict[str, str]:
    response = client.post("/api/auth/login", json={"username": username, "password": password})
    assert response.status_code == 200, response.text
    return {"Authorization": f"Bearer {response.json()['access_token']}"}


@pytest.fixture
def auth_headers(
    client: TestClient, make_user: Callable[..., Any]
) -> Callable[..., dict[str, str]]:
    """auth_headers("nurse") → Authorization headers of a fresh user with that role."""

    def headers(role: str = "admin") -> dict[str, str]:
        user = make_user(role)
        return login(client, user.username)

    return headers
