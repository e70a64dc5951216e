"""Derived work on the index, run in the background after an ingest commits."""

from __future__ import annotations

from hounsfield.db import session_factory
from hounsfield.worker import celery


@celery.task(name="studies.refresh_series", acks_late=True)
def refresh_series(series_instance_uid: str) -> None:
    """Recompute a series' and its study's aggregates from the index. Idempotent.

    The ingest keeps these counts exact with atomic increments; this recount repairs any
    drift (a crash between steps, a manual repair). It then builds the series
    metadata cache and thumbnail.
    """
    from hounsfield.studies import service

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
    # The series is complete for now (no refresh waiting): AI models may run on it by rule.
    from hounsfield.ai.service import on_series_complete

    on_series_complete(series_instance_uid)


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


@celery.task(name="studies.scrub_objects", acks_late=True)
def scrub_objects(batch: int = 200) -> int:
    """Re-verify every stored object's SHA-256 (SECURITY D2, scheduled re-verification).

    Reads skip the hash of objects whose storage fingerprint is unchanged since their last
    full check; this finds what a fingerprint cannot (in-place corruption that kept size and
    mtime) and flags it, so it is never served again. Returns how many failed.
    """
    from hounsfield.db import transaction
    from hounsfield.studies import objects, refs

    after, failed = 0, 0
    while True:
        with transaction() as session:
            page = refs.instances_after(session, after, batch)
        if not page:
            return failed
        failed += sum(not objects.scrub(ref) for _pk, ref in page)
        after = page[-1][0]
