"""Maintenance of the ingest area (run by Celery beat in production)."""

from __future__ import annotations

from hounsfield.config import get_settings
from hounsfield.ingest import maintenance, uploads
from hounsfield.storage import get_storage
from hounsfield.worker import celery

SWEEP_GRACE_S = 24 * 3600  # an ingest never takes a day: younger orphans may be in flight


@celery.task(name="ingest.purge_stale_uploads", acks_late=True)
def purge_stale_uploads() -> int:
    """Remove resumable uploads idle longer than HOUNSFIELD_INGEST__TUS_EXPIRE_HOURS."""
    return uploads.purge_stale_uploads(get_settings())


@celery.task(name="ingest.sweep_orphans", acks_late=True)
def sweep_orphans() -> int:
    """Remove objects no index row names and temporary files left by crashes (a day old)."""
    settings = get_settings()
    removed = maintenance.sweep_orphan_objects(get_storage(settings), SWEEP_GRACE_S)
    return removed + maintenance.sweep_temporary_files(settings, SWEEP_GRACE_S)
