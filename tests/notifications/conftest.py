"""Fixtures of the notification tests: users with addresses, and emitting on a commit."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.notifications import service
from hounsfield.notifications.models import Delivery
from hounsfield.worker import shutdown_local_pool

PATIENT = "张三丰"  # a Chinese patient name that must never leave through SMS, push, subjects


@pytest.fixture
def emit() -> Callable[..., uuid.UUID]:
    """emit(kind, recipients=[...], params=..., detail=...) in its own transaction; returns
    the event id once the background deliveries it queued have run."""

    def run(kind: service.Kind, **kwargs: Any) -> uuid.UUID:
        with transaction(write=True) as session:
            event = service.emit(session, get_settings(), kind, **kwargs)
        shutdown_local_pool(wait=True)  # the deliveries queued on commit have run
        return event.id

    return run


def deliveries(event_id: uuid.UUID) -> dict[str, Delivery]:
    with transaction() as session:
        return {d.channel: d for d in service.deliveries_of(session, event_id)}


@pytest.fixture
def with_address(make_user: Callable[..., Any]) -> Callable[..., Any]:
    """with_address(email=..., phone=..., channels={kind: [...]}) → a doctor with them."""

    def make(email: str | None = None, phone: str | None = None, **channels: list[str]) -> Any:
        user = make_user("doctor")
        with transaction(write=True) as session:
            current = service.preferences(session, user.id)
            chosen = {service.Kind(k): [service.Channel(c) for c in v] for k, v in channels.items()}
            service.set_preferences(
                session, user.id, service.Preferences(email, phone, {**current.channels, **chosen})
            )
        return user

    return make
