"""Maintenance of the ingest area."""

from __future__ import annotations

from hounsfield.config import get_settings
from hounsfield.worker import celery


@celery.task(name="ingest.purge_stale_uploads", acks_late=True)
def purge_stale_uploads() -> int:
    """Remove resumable uploads idle longer than HOUNSFIELD_INGEST__TUS_EXPIRE_HOURS."""
    from hounsfield.ingest import uploads

    return uploads.purge_stale_uploads(get_settings())
