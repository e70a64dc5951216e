"""Derived work on the index, run in the background after an ingest commits."""

from __future__ import annotations

from hounsfield.db import transaction
from hounsfield.worker import celery


@celery.task(name="studies.refresh_series", acks_late=True)
def refresh_series(series_instance_uid: str) -> None:
    """Recompute a series' and its study's aggregates from the index. Idempotent.

    The ingest keeps these counts exact with atomic increments; this recount repairs any
    drift (a crash between steps, a manual repair). The DICOMweb part adds the series
    metadata cache and thumbnails here.
    """
    from hounsfield.studies import service

    with transaction(write=True) as session:
        service.refresh_aggregates(session, series_instance_uid)
    from hounsfield.dicomweb.derived import build_series_derived

    build_series_derived(series_instance_uid)
