"""Gauges computed when Prometheus scrapes: task backlog, disk space of the data directory,
critical results nobody has read, and the outcome of the last backup.

They come from shared state (the database, the shared store, the disk), so every API process
reports the same values; the alert rules take max() over processes. A source that cannot be
read leaves its gauges out of that scrape (an absent series, never a wrong zero).
"""

from __future__ import annotations

import logging
import shutil
import time
from collections.abc import Iterator
from datetime import timedelta

from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import REGISTRY, Collector
from sqlalchemy import func, select

from hounsfield.config import get_settings
from hounsfield.db import transaction, utcnow
from hounsfield.kv import StoreUnavailable, get_store
from hounsfield.notifications import service as notifications
from hounsfield.studies.models import Instance
from hounsfield.worker import MAX_ATTEMPTS, OutboxEntry

logger = logging.getLogger(__name__)

CRITICAL_ACK_WITHIN = timedelta(minutes=15)  # 危急值 must be read (acknowledged) by then
# outcome → (shared-store key, gauge)
_BACKUP_KEYS = {
    "success": ("backup:last_success", "hounsfield_backup_last_success_timestamp_seconds"),
    "failure": ("backup:last_failure", "hounsfield_backup_last_failure_timestamp_seconds"),
}
_BACKUP_TTL_S = 400 * 86400
STORED_BYTES_EVERY_S = 300.0


def backup_finished(ok: bool) -> None:
    """Record the outcome of a backup run (called by the backup command) for the alerts."""
    key, _ = _BACKUP_KEYS["success" if ok else "failure"]
    get_store().set(key, str(time.time()), _BACKUP_TTL_S)


class StateCollector(Collector):
    def __init__(self) -> None:
        self._stored: tuple[float, float] | None = None  # (monotonic time, bytes)

    def describe(self) -> list[GaugeMetricFamily]:
        # Nothing to declare up front: without this, registering calls collect(), which
        # would query the database at import time, under the registry's lock (and creating
        # the engine there registers the pool's gauges: a deadlock on that lock).
        return []

    def collect(self) -> Iterator[GaugeMetricFamily]:
        yield from self._disk()
        try:
            yield from self._database()
        except Exception as exc:  # the database is down: readiness and `up` tell that
            logger.warning("metrics: database gauges skipped (%s)", type(exc).__name__)
        try:
            yield from self._backups()
        except StoreUnavailable:
            logger.warning("metrics: backup gauges skipped (shared store unavailable)")

    def _disk(self) -> Iterator[GaugeMetricFamily]:
        data_dir = get_settings().data_dir
        try:
            usage = shutil.disk_usage(data_dir)
        except OSError:
            return
        yield GaugeMetricFamily(
            "hounsfield_data_dir_free_bytes",
            "Free bytes on the data directory's file system",
            usage.free,
        )
        yield GaugeMetricFamily(
            "hounsfield_data_dir_size_bytes",
            "Size of the data directory's file system",
            usage.total,
        )

    def _database(self) -> Iterator[GaugeMetricFamily]:
        with transaction() as session:
            live = OutboxEntry.attempts < MAX_ATTEMPTS
            pending = session.scalar(select(func.count()).where(live)) or 0
            oldest = session.scalar(select(func.min(OutboxEntry.created_at)).where(live))
            given_up = session.scalar(select(func.count()).where(~live)) or 0
            critical = notifications.unacknowledged_critical(session, CRITICAL_ACK_WITHIN)
        age = (utcnow() - oldest).total_seconds() if oldest else 0.0
        yield GaugeMetricFamily("hounsfield_task_backlog", "Background tasks not done yet", pending)
        yield GaugeMetricFamily(
            "hounsfield_task_backlog_oldest_seconds",
            "Age of the oldest background task not done yet",
            age,
        )
        yield GaugeMetricFamily(
            "hounsfield_tasks_given_up", "Background tasks that failed every attempt", given_up
        )
        yield GaugeMetricFamily(
            "hounsfield_storage_stored_bytes",
            "Bytes of the archive's live instances (the sum the index records)",
            self._stored_bytes(),
        )
        yield GaugeMetricFamily(
            "hounsfield_critical_results_unacknowledged",
            f"Critical results unread after {int(CRITICAL_ACK_WITHIN.total_seconds() // 60)} min",
            critical,
        )  # fmt: skip

    def _stored_bytes(self) -> float:
        """Summed at most every STORED_BYTES_EVERY_S: a scan of every instance row."""
        now = time.monotonic()
        if self._stored is None or now - self._stored[0] > STORED_BYTES_EVERY_S:
            with transaction() as session:
                live = Instance.deleted_at.is_(None)
                total = session.scalar(
                    select(func.coalesce(func.sum(Instance.size), 0)).where(live)
                )
            self._stored = (now, float(total or 0))
        return self._stored[1]

    def _backups(self) -> Iterator[GaugeMetricFamily]:
        store = get_store()
        for outcome, (key, gauge) in _BACKUP_KEYS.items():
            value = store.get(key)
            if value is not None:
                described = f"Unix time of the last backup {outcome}"
                yield GaugeMetricFamily(gauge, described, float(value))


_registered: list[StateCollector] = []


def register() -> None:
    """Add the collector to the default registry, once per process."""
    if not _registered:
        _registered.append(StateCollector())
        REGISTRY.register(_registered[0])
