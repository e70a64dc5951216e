"""Short-lived shared state (token revocation, login counters): Redis, or in process.

With `HOUNSFIELD_REDIS_URL` set every API process shares the state through Redis; without
it, an embedded server of several processes shares it through a small SQLite file under
the data directory (`FileStore`), and a single process keeps it in memory. If Redis becomes
unreachable every operation raises StoreUnavailable: security state fails closed (logins are
refused with 503; token revocation falls back to the database, see auth/deps.py), never
"nothing known".
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from functools import lru_cache
from pathlib import Path
from typing import Any, Protocol

import redis

from hounsfield.config import get_settings
from hounsfield.errors import ServiceUnavailable

logger = logging.getLogger(__name__)


class StoreUnavailable(ServiceUnavailable):
    """登录保护与会话状态暂不可用（Redis 无法连接），请稍后再试。"""

    code = "security_state_unavailable"
    english = (
        "Login protection and session state are unavailable (Redis is unreachable); "
        "please try again later."
    )


class KeyValueStore(Protocol):
    def incr(self, key: str, ttl_s: int) -> int:
        """Increment a counter whose expiry is set when it is created."""
        ...

    def get(self, key: str) -> str | None: ...
    def set(self, key: str, value: str, ttl_s: int) -> None: ...
    def ttl(self, key: str) -> int:
        """Seconds until `key` expires (0 if absent)."""
        ...

    def delete(self, *keys: str) -> None: ...
    def ping(self) -> bool: ...


class MemoryStore:
    def __init__(self) -> None:
        self._data: dict[str, tuple[str, float]] = {}
        self._lock = threading.Lock()

    def _live(self, key: str) -> tuple[str, float] | None:
        item = self._data.get(key)
        if item is not None and item[1] <= time.monotonic():
            del self._data[key]
            return None
        return item

    def incr(self, key: str, ttl_s: int) -> int:
        with self._lock:
            item = self._live(key)
            value = int(item[0]) + 1 if item else 1
            expires = item[1] if item else time.monotonic() + ttl_s
            self._data[key] = (str(value), expires)
            return value

    def get(self, key: str) -> str | None:
        with self._lock:
            item = self._live(key)
            return item[0] if item else None

    def set(self, key: str, value: str, ttl_s: int) -> None:
        with self._lock:
            self._data[key] = (value, time.monotonic() + ttl_s)

    def ttl(self, key: str) -> int:
        with self._lock:
            item = self._live(key)
            return max(0, round(item[1] - time.monotonic())) if item else 0

    def delete(self, *keys: str) -> None:
        with self._lock:
            for key in keys:
                self._data.pop(key, None)

    def ping(self) -> bool:
        return True


class FileStore:
    """State shared by the processes of one embedded server: a SQLite file in WAL mode.

    Expiry uses wall-clock time, the one clock every process agrees on. It is not meant to
    survive a lost disk (like Redis without persistence), so synchronous=NORMAL suffices.
    A failing file raises StoreUnavailable, as Redis does: security state fails closed.
    """

    _INCR = (
        "INSERT INTO kv (key, value, expires) VALUES (?, '1', ?) ON CONFLICT (key) DO UPDATE"
        " SET value = CASE WHEN expires <= ? THEN '1' ELSE CAST(value AS INTEGER) + 1 END,"
        " expires = CASE WHEN expires <= ? THEN excluded.expires ELSE expires END"
        " RETURNING value"
    )
    _SET = (
        "INSERT INTO kv (key, value, expires) VALUES (?, ?, ?) ON CONFLICT (key) DO UPDATE"
        " SET value = excluded.value, expires = excluded.expires"
    )
    _LIVE = "SELECT value, expires FROM kv WHERE key = ? AND expires > ?"

    def __init__(self, path: Path) -> None:
        self._path = path
        self._local = threading.local()
        self._writes = 0
        path.parent.mkdir(parents=True, exist_ok=True)
        self._run(
            "CREATE TABLE IF NOT EXISTS kv (key TEXT PRIMARY KEY, value TEXT NOT NULL,"
            " expires REAL NOT NULL) WITHOUT ROWID",
            (),
        )

    def _run(self, sql: str, params: tuple[object, ...]) -> tuple[Any, ...] | None:
        try:
            conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
            if conn is None:  # one per thread: sqlite3 connections stay in their thread
                conn = sqlite3.connect(self._path, timeout=10, isolation_level=None)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._local.conn = conn
            row: tuple[Any, ...] | None = conn.execute(sql, params).fetchone()
            return row
        except sqlite3.Error as exc:
            logger.error("shared state file unavailable: %s", type(exc).__name__)
            raise StoreUnavailable() from exc

    def incr(self, key: str, ttl_s: int) -> int:
        now = time.time()
        row = self._run(self._INCR, (key, now + ttl_s, now, now))
        assert row is not None  # RETURNING always yields the row
        return int(row[0])

    def get(self, key: str) -> str | None:
        row = self._run(self._LIVE, (key, time.time()))
        return None if row is None else str(row[0])

    def set(self, key: str, value: str, ttl_s: int) -> None:
        now = time.time()
        self._run(self._SET, (key, value, now + ttl_s))
        self._writes += 1  # racy across threads, harmless: it only spaces out the purges
        if self._writes % 256 == 0:
            self._run("DELETE FROM kv WHERE expires <= ?", (now,))

    def ttl(self, key: str) -> int:
        now = time.time()
        row = self._run(self._LIVE, (key, now))
        return max(0, round(row[1] - now)) if row else 0

    def delete(self, *keys: str) -> None:
        for key in keys:
            self._run("DELETE FROM kv WHERE key = ?", (key,))

    def ping(self) -> bool:
        return True


class RedisStore:
    """Every failure to reach Redis raises StoreUnavailable (logged, without keys or values)."""

    def __init__(self, url: str, prefix: str = "hounsfield:") -> None:
        self._redis = redis.Redis.from_url(
            url, socket_timeout=1.0, socket_connect_timeout=1.0, decode_responses=True
        )
        self._prefix = prefix

    @staticmethod
    def _unavailable(operation: str, key: str) -> StoreUnavailable:
        logger.error("redis unavailable: %s %s failed closed", operation, key.split(":")[0])
        return StoreUnavailable()

    def incr(self, key: str, ttl_s: int) -> int:
        try:
            pipe = self._redis.pipeline()
            pipe.incr(self._prefix + key)
            pipe.expire(self._prefix + key, ttl_s, nx=True)
            return int(pipe.execute()[0])
        except redis.RedisError as exc:
            raise self._unavailable("counter", key) from exc

    def get(self, key: str) -> str | None:
        try:
            value = self._redis.get(self._prefix + key)
        except redis.RedisError as exc:
            raise self._unavailable("lookup", key) from exc
        return None if value is None else str(value)

    def set(self, key: str, value: str, ttl_s: int) -> None:
        try:
            self._redis.set(self._prefix + key, value, ex=ttl_s)
        except redis.RedisError as exc:
            raise self._unavailable("store", key) from exc

    def ttl(self, key: str) -> int:
        try:
            return max(0, int(self._redis.ttl(self._prefix + key)))
        except redis.RedisError as exc:
            raise self._unavailable("ttl", key) from exc

    def delete(self, *keys: str) -> None:
        try:
            self._redis.delete(*(self._prefix + k for k in keys))
        except redis.RedisError as exc:
            raise self._unavailable("delete", keys[0] if keys else "") from exc

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except redis.RedisError:
            return False


@lru_cache
def get_store() -> KeyValueStore:
    settings = get_settings()
    if settings.redis_url:
        return RedisStore(settings.redis_url)
    if settings.api_workers > 1:  # several embedded processes (`hounsfield serve` sets it)
        return FileStore(settings.data_dir / "kv.sqlite3")
    return MemoryStore()
