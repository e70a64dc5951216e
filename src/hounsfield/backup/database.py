"""A consistent dump of the index database, and loading it into an empty one.

- SQLite: the online backup API (a page-by-page copy that sees one committed state while
  the server keeps writing); the dump is itself a database file.
- MariaDB/MySQL: `mariadb-dump --single-transaction` (one consistent InnoDB snapshot, no
  table locks), loaded with `mariadb`.
- PostgreSQL: `pg_dump --format=custom` (one snapshot), loaded with `pg_restore`.

Passwords go to the tools in their environment variable (MYSQL_PWD, PGPASSWORD), never on
the command line, where other users could read them (ps).
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess  # nosec B404
from pathlib import Path
from typing import IO

from sqlalchemy.engine import URL, make_url

__all__ = ["DumpFailed", "dialect", "dump", "load", "sqlite_path"]

FILES = {"sqlite": "database.sqlite3", "mysql": "database.sql", "postgresql": "database.pgdump"}


class DumpFailed(RuntimeError):
    """The database tool failed; the message says which and why (its stderr)."""


def dialect(url: str) -> str:
    name = make_url(url).get_backend_name()
    if name not in FILES:
        raise DumpFailed(f"no backup for the {name} database")
    return name


def sqlite_path(url: str) -> Path:
    database = make_url(url).database
    if not database or database == ":memory:":
        raise DumpFailed("an in-memory SQLite database cannot be backed up")
    return Path(database)


def dump(url: str, directory: Path) -> Path:
    """Write the database's dump into `directory`; returns the file."""
    kind = dialect(url)
    target = directory / FILES[kind]
    if kind == "sqlite":
        source = sqlite3.connect(f"file:{sqlite_path(url)}?mode=ro", uri=True)
        out = sqlite3.connect(target)
        try:
            source.backup(out)
        finally:
            out.close()
            source.close()
    elif kind == "mysql":
        parsed = make_url(url)
        options = ["--single-transaction", "--routines", "--triggers", "--hex-blob",
                   "--default-character-set=utf8mb4", f"--result-file={target}"]  # fmt: skip
        args = [_tool("mariadb-dump", "mysqldump"), *options, *_mysql_connection(parsed),
                parsed.database or ""]  # fmt: skip
        _run(args, _mysql_env(parsed))
    else:
        parsed = make_url(url)
        args = [_tool("pg_dump"), "--format=custom", "--no-owner", "--no-privileges",
                *_pg_connection(parsed), f"--file={target}"]  # fmt: skip
        _run(args, _pg_env(parsed))
    return target


def load(url: str, source: Path) -> None:
    """Load a dump into the (empty) database `url` names."""
    kind = dialect(url)
    if kind == "sqlite":
        path = sqlite_path(url)
        path.parent.mkdir(parents=True, exist_ok=True)
        src, out = sqlite3.connect(f"file:{source}?mode=ro", uri=True), sqlite3.connect(path)
        try:
            src.backup(out)
        finally:
            out.close()
            src.close()
    elif kind == "mysql":
        parsed = make_url(url)
        args = [_tool("mariadb", "mysql"), *_mysql_connection(parsed), parsed.database or ""]
        with source.open("rb") as stdin:
            _run(args, _mysql_env(parsed), stdin=stdin)
    else:
        parsed = make_url(url)
        args = [_tool("pg_restore"), "--no-owner", "--no-privileges", "--exit-on-error",
                *_pg_connection(parsed), str(source)]  # fmt: skip
        _run(args, _pg_env(parsed))


def _tool(*names: str) -> str:
    for name in names:
        found = shutil.which(name)
        if found:
            return found
    raise DumpFailed(f"{names[0]} is not installed")


def _mysql_connection(url: URL) -> list[str]:
    args = [f"--host={url.host or '127.0.0.1'}", f"--port={url.port or 3306}"]
    return [*args, f"--user={url.username or 'root'}"]


def _mysql_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("MYSQL_PWD", None)
    if url.password:
        env["MYSQL_PWD"] = str(url.password)
    return env


def _pg_connection(url: URL) -> list[str]:
    return [
        f"--host={url.host or '127.0.0.1'}",
        f"--port={url.port or 5432}",
        f"--username={url.username or 'postgres'}",
        f"--dbname={url.database or ''}",
    ]


def _pg_env(url: URL) -> dict[str, str]:
    env = dict(os.environ)
    env.pop("PGPASSWORD", None)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return env


def _run(args: list[str], env: dict[str, str], stdin: IO[bytes] | None = None) -> None:
    # A list of arguments, no shell (bandit B603).
    done = subprocess.run(args, env=env, stdin=stdin, capture_output=True, check=False)  # nosec B603
    if done.returncode != 0:
        tool = Path(args[0]).name
        raise DumpFailed(f"{tool} failed ({done.returncode}): {done.stderr.decode()[-500:]}")
