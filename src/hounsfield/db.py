"""Engine, sessions and the transaction boundary shared by requests, tasks and the SCP."""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import Annotated, Any

from fastapi import Depends
from sqlalchemy import DateTime, Engine, MetaData, create_engine, event
from sqlalchemy.dialects import mysql
from sqlalchemy.engine import Connection
from sqlalchemy.exc import DBAPIError
from sqlalchemy.orm import DeclarativeBase, Session, configure_mappers, sessionmaker
from sqlalchemy.types import TypeDecorator

from hounsfield.config import get_settings

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC datetimes on every backend (SQLite and MySQL drop the zone)."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def load_dialect_impl(self, dialect: Any) -> Any:
        if dialect.name in ("mysql", "mariadb"):  # keep microseconds (DATETIME(6))
            return dialect.type_descriptor(mysql.DATETIME(fsp=6))
        return dialect.type_descriptor(DateTime(timezone=True))

    def process_bind_param(self, value: datetime | None, dialect: Any) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: datetime | None, dialect: Any) -> datetime | None:
        return None if value is None else value.replace(tzinfo=UTC)


def utcnow() -> datetime:
    return datetime.now(UTC)


_lock = threading.Lock()
_engine: Engine | None = None
_factory: sessionmaker[Session] | None = None


def _configure_sqlite(engine: Engine) -> None:
    # pysqlite's own transaction handling is off, so that BEGIN IMMEDIATE can be chosen
    # per transaction: a writer takes the lock first and never fails on a stale snapshot.
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cursor = dbapi_conn.cursor()
        cursor.execute("PRAGMA journal_mode=WAL")
        # FULL: a commit is fsync'd before it returns, so an acknowledged instance's row
        # survives a power loss (with NORMAL it survives a crash only, and the orphan sweeper
        # would then delete the object whose row was lost: SECURITY D1).
        cursor.execute("PRAGMA synchronous=FULL")
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute("PRAGMA busy_timeout=30000")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get("immediate", False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def make_engine(url: str) -> Engine:
    # Query parameters hold patient data: never in an exception's text or a log line.
    kwargs: dict[str, Any] = {"pool_pre_ping": True, "hide_parameters": True}
    if url.startswith("sqlite"):
        kwargs["connect_args"] = {"check_same_thread": False, "timeout": 30}
    else:
        kwargs.update(pool_size=10, max_overflow=20, pool_recycle=1800)
    engine = create_engine(url, **kwargs)
    if url.startswith("sqlite"):
        _configure_sqlite(engine)
    from hounsfield.monitoring import pool  # here: prometheus_client after the CLI set it up

    pool.watch(engine)
    return engine


def load_models() -> None:
    """Import every domain's tables and resolve their relationships, once, up front.

    A model module imported lazily on one thread while another builds a query would let
    SQLAlchemy configure the mappers half-way through that module (a relationship naming
    a class not yet defined), and the failure sticks for the life of the process.
    """
    importlib.import_module("hounsfield.models")
    configure_mappers()


def get_engine() -> Engine:
    global _engine, _factory
    with _lock:
        if _engine is None:
            load_models()
            settings = get_settings()
            if settings.is_sqlite:
                settings.data_dir.mkdir(parents=True, exist_ok=True)
            _engine = make_engine(settings.sqlalchemy_url)
            _factory = sessionmaker(_engine, expire_on_commit=False)
        return _engine


def reset_engine() -> None:
    """Forget the engine (tests switch databases; forked workers need fresh pools)."""
    global _engine, _factory
    with _lock:
        if _engine is not None:
            _engine.dispose()
        _engine, _factory = None, None


def session_factory() -> sessionmaker[Session]:
    get_engine()
    assert _factory is not None
    return _factory


@contextmanager
def transaction(*, write: bool = False) -> Iterator[Session]:
    """Commit on success, roll back on any error.

    `write=True` takes SQLite's write lock at BEGIN (no effect on other databases), for units
    that read and then write: without it a concurrent writer makes SQLite fail the upgrade.
    """
    with session_factory()() as session, session.begin():
        if write:
            session.connection(execution_options={"immediate": True})
        yield session


# Deadlock and lock-wait timeout (MySQL/MariaDB); deadlock and serialization failure
# (PostgreSQL). The database rolled the transaction back; running it again is the remedy.
_RETRYABLE_MYSQL = frozenset({1205, 1213})
_RETRYABLE_SQLSTATE = frozenset({"40P01", "40001"})


def is_retryable(exc: DBAPIError) -> bool:
    """Whether the database refused this transaction only because of a concurrent one."""
    orig = exc.orig
    sqlstate = getattr(orig, "sqlstate", None)
    if sqlstate in _RETRYABLE_SQLSTATE:
        return True
    args: tuple[object, ...] = getattr(orig, "args", ())
    return bool(args) and args[0] in _RETRYABLE_MYSQL


def _request_session() -> Iterator[Session]:
    with transaction() as session:
        yield session


def _request_write_session() -> Iterator[Session]:
    with transaction(write=True) as session:
        yield session


# scope="function" commits before the response is sent, so a failed commit becomes a 500
# instead of a 200 for data that was never stored.
SessionDep = Annotated[Session, Depends(_request_session, scope="function")]
WriteSessionDep = Annotated[Session, Depends(_request_write_session, scope="function")]


def after_commit(session: Session, callback: Callable[[], None]) -> None:
    """Run `callback` once this session's transaction commits; drop it on rollback."""
    session.info.setdefault("after_commit", []).append(callback)


@event.listens_for(Session, "after_commit")
def _run_after_commit(session: Session) -> None:
    for callback in session.info.pop("after_commit", []):
        callback()


@event.listens_for(Session, "after_rollback")
def _drop_after_commit(session: Session) -> None:
    session.info.pop("after_commit", None)
