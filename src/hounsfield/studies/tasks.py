"""Derived work on the index, run in the background after an ingest commits."""

from __future__ import annotations

import time

from hounsfield.db import session_factory
from hounsfield.worker import celery


def _wait_for_quiet(series_instance_uid: str) -> None:
    """Debounce: while this waits, new instances of the series queue no further refresh
    (see `studies.service.request_refresh`), so a burst of N instances costs a few
    refreshes, not N (each reads the whole series). HOUNSFIELD_INGEST__REFRESH_QUIET_MS
    of quiet, at most HOUNSFIELD_INGEST__REFRESH_MAX_WAIT_MS."""
    from sqlalchemy import select

    from hounsfield.config import get_settings
    from hounsfield.db import transaction, utcnow
    from hounsfield.studies.models import Series

    conf = get_settings().ingest
    quiet_s = conf.refresh_quiet_ms / 1000
    deadline = time.monotonic() + conf.refresh_max_wait_ms / 1000
    while quiet_s > 0 and time.monotonic() < deadline:
        with transaction() as session:
            updated = session.scalar(
                select(Series.updated_at).where(Series.series_instance_uid == series_instance_uid)
            )
        if updated is None:
            return
        quiet = (utcnow() - updated).total_seconds()
        if quiet >= quiet_s:
            return
        time.sleep(min(quiet_s - quiet, max(deadline - time.monotonic(), 0)))


@celery.task(name="studies.refresh_series", acks_late=True)
def refresh_series(series_instance_uid: str) -> None:
    """Recompute a series' and its study's aggregates from the index. Idempotent.

    The ingest keeps these counts exact with atomic increments; this recount repairs any
    drift (a crash between steps, a manual repair). It then builds the series
    metadata cache and thumbnail.
    """
    from hounsfield.studies import service

    _wait_for_quiet(series_instance_uid)
    with session_factory()() as session:
        # READ COMMITTED: the recount must see every commit made before it took the study
        # lock, not a snapshot from before (InnoDB's default repeatable read would lose
        # concurrent increments). SQLite instead takes its write lock at BEGIN.
        if session.get_bind().dialect.name == "sqlite":
            session.connection(execution_options={"immediate": True})
        else:
            session.connection(execution_options={"isolation_level": "READ COMMITTED"})
        service.refresh_aggregates(session, series_instance_uid)
        session.commit()
    # Derived data: series metadata document, fragments, thumbnail (cached on disk).
    from hounsfield.studies.derived import build_series_derived

    build_series_derived(series_instance_uid)


@celery.task(name="studies.purge_deleted", acks_late=True)
def purge_deleted(older_than_hours: int = 24) -> int:
    """Remove rows and objects of instances soft-deleted at least `older_than_hours` ago."""
    from datetime import timedelta

    from hounsfield.db import transaction
    from hounsfield.studies import service

    total = 0
    while True:
        with transaction(write=True) as session:
            purged = service.purge_deleted(session, older_than=timedelta(hours=older_than_hours))
        total += purged
        if purged == 0:
            return total
