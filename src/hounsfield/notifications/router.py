"""HTTP: /api/notifications (the user's own: list, read state, live stream, preferences)."""

from __future__ import annotations

import asyncio
import json
import uuid
from collections.abc import AsyncIterator
from typing import Annotated

from anyio import to_thread
from fastapi import APIRouter, Query, Request
from fastapi.responses import StreamingResponse

from hounsfield.audit import service as audit
from hounsfield.auth.deps import CurrentUser, requires
from hounsfield.auth.router import prefers_english
from hounsfield.config import get_settings
from hounsfield.db import SessionDep, WriteSessionDep, transaction
from hounsfield.notifications import channels, service
from hounsfield.notifications.hub import hub
from hounsfield.notifications.models import Notification
from hounsfield.notifications.schemas import (
    AlertmanagerWebhook,
    AlertsReceived,
    NotificationPage,
    NotificationRead,
    PreferencesRead,
    PreferencesUpdate,
    PushSubscriptionCreate,
    PushSubscriptionRead,
    ReadAllResult,
    VapidKey,
)
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/notifications", tags=["notifications"])

HEARTBEAT_S = 15.0  # keeps proxies from closing an idle stream
POLL_S = 1.0


def _read(notification: Notification, locale: str) -> NotificationRead:
    event = notification.event
    params = json.loads(event.params)
    return NotificationRead(
        id=notification.id,
        kind=event.kind,
        title=service.title_for(service.Kind(event.kind), params, locale),
        detail=event.detail,
        link=event.link,
        params=params,
        created_at=notification.created_at,
        read_at=notification.read_at,
    )


def _locale(request: Request) -> str:
    return "en" if prefers_english(request) else "zh-CN"


@router.get("")
def list_notifications(
    request: Request,
    user: CurrentUser,
    session: SessionDep,
    unread: bool = False,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> NotificationPage:
    """The user's notifications, newest first, with the unread count."""
    items, total, unread_count = service.list_for(
        session, user.id, unread_only=unread, limit=limit, offset=offset
    )
    # Details may name patients: every read of them is audited.
    audit.record_access("notification.list", user, detail={"count": len(items)})
    locale = _locale(request)
    return NotificationPage(
        items=[_read(n, locale) for n in items], total=total, unread=unread_count
    )


@router.post("/read-all")
def read_all(user: CurrentUser, session: WriteSessionDep) -> ReadAllResult:
    marked = service.mark_all_read(session, user.id)
    return ReadAllResult(marked=marked, unread=service.unread_count(session, user.id))


@router.post("/{notification_id}/read")
def read_one(
    notification_id: uuid.UUID, request: Request, user: CurrentUser, session: WriteSessionDep
) -> NotificationRead:
    try:
        notification = service.mark_read(session, user.id, notification_id)
    except service.NotificationNotFound as exc:
        if prefers_english(request):
            raise service.NotificationNotFound(exc.english) from None
        raise
    return _read(notification, _locale(request))


@router.get("/preferences")
def get_preferences(user: CurrentUser, session: SessionDep) -> PreferencesRead:
    return _preferences(service.preferences(session, user.id))


@router.put("/preferences")
def put_preferences(
    body: PreferencesUpdate, user: CurrentUser, session: WriteSessionDep
) -> PreferencesRead:
    """Replace the user's addresses and the channels of the kinds given."""
    current = service.preferences(session, user.id)
    wanted = service.Preferences(body.email, body.phone, {**current.channels, **body.channels})
    audit.record(session, "notification.preferences", user, resource_type="user",
                 resource_id=str(user.id), detail={"kinds": sorted(body.channels)})  # fmt: skip
    return _preferences(service.set_preferences(session, user.id, wanted))


def _preferences(prefs: service.Preferences) -> PreferencesRead:
    config = get_settings().notifications
    available = [service.Channel.in_app]
    available += [service.Channel.email] if config.smtp_host else []
    available += [service.Channel.sms] if config.sms_url else []
    available += [service.Channel.push] if config.vapid_subject else []
    return PreferencesRead(
        email=prefs.email, phone=prefs.phone, channels=prefs.channels, available=available
    )


@router.get("/push/key")
def push_key(_user: CurrentUser) -> VapidKey:
    """The server's VAPID public key, for PushManager.subscribe()."""
    return VapidKey(public_key=channels.vapid_public_key(get_settings()))


@router.post("/push/subscriptions", status_code=201)
def subscribe(
    body: PushSubscriptionCreate, user: CurrentUser, session: WriteSessionDep
) -> PushSubscriptionRead:
    row = service.subscribe_push(session, user.id, body.endpoint, body.keys.p256dh, body.keys.auth)
    return PushSubscriptionRead(id=row.id, created_at=row.created_at)


@router.post("/alerts")
def receive_alerts(
    body: AlertmanagerWebhook,
    _user: Annotated[User, requires(Permission.system_admin)],
    session: WriteSessionDep,
) -> AlertsReceived:
    """Alertmanager's webhook: each firing alert becomes a system_alert to the administrators
    (and the group robots). Its title carries only the alert's name."""
    firing = [alert for alert in body.alerts if alert.status == "firing"]
    for alert in firing:
        name = alert.labels.get("alertname", "")
        service.emit(
            session, get_settings(), service.Kind.system_alert,
            permission=Permission.system_admin,
            params={"alert": name if service.PARAM.fullmatch(name) else "unnamed"},
            detail=alert.annotations.get("summary"),
        )  # fmt: skip
    return AlertsReceived(emitted=len(firing))


# Not in the OpenAPI document: an endless text/event-stream has no response schema, and
# generated clients (and the schema fuzzer) would wait on it forever.
@router.get("/stream", response_class=StreamingResponse, include_in_schema=False)
async def stream(request: Request, user: CurrentUser) -> StreamingResponse:
    """Server-sent events: `unread` (the count) first, then `notification` for each new one."""
    queue = hub.subscribe(user.id)
    try:
        unread = await to_thread.run_sync(_unread, user.id)
    except BaseException:
        hub.unsubscribe(user.id, queue)
        raise
    return StreamingResponse(
        _events(request, user.id, queue, unread),
        media_type="text/event-stream",
        headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
    )


def _unread(user_id: uuid.UUID) -> int:
    with transaction() as session:
        return service.unread_count(session, user_id)


async def _events(
    request: Request, user_id: uuid.UUID, queue: asyncio.Queue[str], unread: int
) -> AsyncIterator[str]:
    # Without Redis the hub is in process, but an embedded server may run several API
    # processes: the stream also watches the unread count, so a notification made by another
    # process still shows within a second (as an `unread` event; the bell refetches).
    watch_count = not get_settings().redis_url
    try:
        yield _unread_event(unread)
        quiet_s = 0.0
        # A closed connection shows only as a disconnect message (the server may not cancel
        # a stream it is not writing to): look for it every second, beat every HEARTBEAT_S.
        while not await request.is_disconnected():
            try:
                message = await asyncio.wait_for(queue.get(), POLL_S)
            except TimeoutError:
                quiet_s += POLL_S
                if watch_count and (count := await to_thread.run_sync(_unread, user_id)) != unread:
                    unread, quiet_s = count, 0.0
                    yield _unread_event(unread)
                elif quiet_s >= HEARTBEAT_S:
                    quiet_s = 0.0
                    yield ": heartbeat\n\n"
                continue
            yield f"event: notification\ndata: {message}\n\n"
    finally:
        hub.unsubscribe(user_id, queue)


def _unread_event(count: int) -> str:
    return f"event: unread\ndata: {json.dumps({'unread': count})}\n\n"
