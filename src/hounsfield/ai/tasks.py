"""AI runs on the Celery `ai` queue (in process in embedded mode): `hounsfield worker
--queues ai` on a GPU machine is the separate AI service."""

from __future__ import annotations

import uuid

from hounsfield.worker import celery


@celery.task(name="ai.run_model", acks_late=True, queue="ai")
def run_model(run_id: str) -> None:
    """Run one queued AI run. Idempotent: a finished run is left alone."""
    from hounsfield.ai import service

    service.execute_run(uuid.UUID(run_id))
