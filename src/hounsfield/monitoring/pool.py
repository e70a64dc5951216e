"""Database connection pool gauges, summed over the processes of a host ("livesum")."""

from __future__ import annotations

from typing import Any

from prometheus_client import Counter, Gauge
from sqlalchemy import Engine, event

CHECKED_OUT = Gauge(
    "hounsfield_db_connections_in_use",
    "Database connections checked out of the pool (a request or task holds them)",
    multiprocess_mode="livesum",
)
OPEN = Gauge(
    "hounsfield_db_connections_open",
    "Database connections open (in use or idle in the pool)",
    multiprocess_mode="livesum",
)
INVALIDATED = Counter(
    "hounsfield_db_connections_invalidated_total",
    "Database connections dropped as broken (an outage or a server restart)",
)


def watch(engine: Engine) -> None:
    """Count the engine's connections as the pool hands them out and takes them back."""
    pool: Any = engine.pool
    event.listen(pool, "connect", lambda *_: OPEN.inc())
    event.listen(pool, "close", lambda *_: OPEN.dec())
    event.listen(pool, "close_detached", lambda *_: OPEN.dec())
    event.listen(pool, "checkout", lambda *_: CHECKED_OUT.inc())
    event.listen(pool, "checkin", lambda *_: CHECKED_OUT.dec())
    event.listen(pool, "invalidate", lambda *_: INVALIDATED.inc())
