"""Periodic maintenance: what runs how often, for Celery beat and for embedded mode.

Production runs `hounsfield beat` (Celery beat on the Redis broker). Embedded mode has no
beat: a thread in the server puts each task through the outbox when it falls due, so the
same code runs either way.
"""

from __future__ import annotations

import time
from datetime import timedelta

from hounsfield.backup import tasks as backup_tasks
from hounsfield.db import transaction
from hounsfield.ingest import tasks as ingest_tasks
from hounsfield.periodic import PeriodicThread
from hounsfield.reports import critical
from hounsfield.studies import tasks as studies_tasks
from hounsfield.worker import celery, enqueue

__all__ = ["PERIODIC", "celery", "due", "enqueue_due", "scheduler"]

# task name → interval. Each task is idempotent and cheap when there is nothing to do.
PERIODIC: dict[str, timedelta] = {
    ingest_tasks.purge_stale_uploads.name: timedelta(hours=1),
    ingest_tasks.sweep_orphans.name: timedelta(hours=6),
    studies_tasks.purge_deleted.name: timedelta(hours=6),
    studies_tasks.scrub_objects.name: timedelta(days=1),  # SECURITY D2: re-verification
    critical.escalate_critical.name: timedelta(minutes=1),  # 危急值: next contact when overdue
    # Asks whether a backup is due (backup.interval_hours); nothing without backup.target.
    backup_tasks.scheduled_backup.name: timedelta(minutes=15),
}
FIRST_RUN_DELAY_S = 120.0  # let start-up (and re-queued work) settle first

celery.conf.beat_schedule = {
    name: {"task": name, "schedule": interval.total_seconds()}
    for name, interval in PERIODIC.items()
}


def due(last_run: dict[str, float], now: float) -> list[str]:
    """Names of the periodic tasks whose interval has passed since they last ran."""
    return [
        name
        for name, interval in PERIODIC.items()
        if now - last_run.get(name, float("-inf")) >= interval.total_seconds()
    ]


def enqueue_due(last_run: dict[str, float], now: float) -> list[str]:
    """Queue every due task through the outbox and note when; returns their names."""
    names = due(last_run, now)
    if names:
        with transaction() as session:
            for name in names:
                enqueue(session, celery.tasks[name])
        last_run.update(dict.fromkeys(names, now))
    return names


class EmbeddedScheduler(PeriodicThread):
    """Embedded mode's stand-in for Celery beat."""

    name = "maintenance"

    def __init__(self, tick_s: float = 60.0) -> None:
        super().__init__(tick_s, first_delay_s=FIRST_RUN_DELAY_S)
        self.last_run: dict[str, float] = {}

    def start(self) -> None:
        self.last_run = {}
        super().start()

    def run_once(self) -> None:
        enqueue_due(self.last_run, time.monotonic())


scheduler = EmbeddedScheduler()
