"""API shapes of notifications and preferences."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, Field, StringConstraints

from hounsfield.notifications.service import Channel, Kind

# Addresses are checked strictly: NUL and other control characters are refused (422).
Email = Annotated[
    str, StringConstraints(max_length=254, pattern=r"^[^@\s\x00-\x1f\x7f]+@[^@\s\x00-\x1f\x7f]+$")
]
Phone = Annotated[str, StringConstraints(max_length=32, pattern=r"^\+?[0-9 -]{5,31}$")]


class NotificationRead(BaseModel):
    id: uuid.UUID
    kind: str
    title: str
    detail: str | None
    link: str | None
    params: dict[str, str | int]
    created_at: datetime
    read_at: datetime | None


class NotificationPage(BaseModel):
    """One page of the user's notifications, newest first, with the unread count."""

    items: list[NotificationRead]
    total: int
    unread: int


class ReadAllResult(BaseModel):
    marked: int
    unread: int


class PreferencesRead(BaseModel):
    email: str | None
    phone: str | None
    channels: dict[Kind, list[Channel]]
    available: list[Channel] = Field(description="Channels this server has configured.")


class PreferencesUpdate(BaseModel):
    email: Email | None = None
    phone: Phone | None = None
    channels: dict[Kind, Annotated[list[Channel], Field(max_length=4)]] = Field(
        default_factory=dict, description="Kinds left out keep their defaults."
    )


_B64 = r"^[A-Za-z0-9_=-]+$"


class PushKeys(BaseModel):
    p256dh: Annotated[str, StringConstraints(min_length=16, max_length=128, pattern=_B64)]
    auth: Annotated[str, StringConstraints(min_length=8, max_length=64, pattern=_B64)]


class PushSubscriptionCreate(BaseModel):
    """What the browser's PushManager.subscribe() returns (PushSubscription.toJSON())."""

    endpoint: Annotated[
        str, StringConstraints(min_length=8, max_length=2048, pattern=r"^https?://[^\s\x00-\x1f]+$")
    ]
    keys: PushKeys


class PushSubscriptionRead(BaseModel):
    id: uuid.UUID
    created_at: datetime


class VapidKey(BaseModel):
    public_key: str = Field(description="applicationServerKey for PushManager.subscribe().")


# Alertmanager's webhook (payload version 4), the parts we use. Newlines and tabs are kept
# (annotations are prose); other control characters are refused.
_Text = Annotated[str, StringConstraints(max_length=1024, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")]


_Name = Annotated[str, StringConstraints(max_length=128, pattern=r"^\w+$")]


class Alert(BaseModel):
    status: Literal["firing", "resolved"]
    labels: dict[_Name, _Text] = Field(default_factory=dict, max_length=64)
    annotations: dict[_Name, _Text] = Field(default_factory=dict, max_length=64)


class AlertmanagerWebhook(BaseModel):
    """What Alertmanager POSTs to a webhook receiver (deploy/prometheus/alertmanager.yml)."""

    alerts: list[Alert] = Field(max_length=100)


class AlertsReceived(BaseModel):
    emitted: int = Field(description="system_alert notifications made (firing alerts only).")
