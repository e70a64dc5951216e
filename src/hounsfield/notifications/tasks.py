"""Delivery of one notification through one channel, run from the task outbox."""

from __future__ import annotations

import uuid

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.notifications import service
from hounsfield.notifications.channels import DeliveryFailed
from hounsfield.worker import MAX_ATTEMPTS, celery


class DeliveryPending(Exception):
    """The attempt failed and the delivery stays pending: the outbox runs it again later."""


@celery.task(name="notifications.deliver", acks_late=True)
def deliver(delivery_id: str) -> str:
    """Send one delivery; the network call happens outside any transaction."""
    key = uuid.UUID(delivery_id)
    settings = get_settings()
    with transaction() as session:
        out = service.outbound(session, key)
    if out is None:
        return "done"
    error, gone = None, []
    try:
        gone = service.send(settings, out)
    except DeliveryFailed as exc:
        error = str(exc)
    with transaction(write=True) as session:
        status = service.record_outcome(session, key, error, max_attempts=MAX_ATTEMPTS, gone=gone)
    if status == "pending":
        raise DeliveryPending(error)
    return status
