"""Notifications: one `emit` for every domain event; in-app list and read state; preferences;
delivery through the external channels (run by the `notifications.deliver` task)."""

from __future__ import annotations

import hashlib
import json
import re
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import timedelta
from enum import StrEnum

from prometheus_client import Counter
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from hounsfield.config import Settings
from hounsfield.db import after_commit, utcnow
from hounsfield.errors import NotFound, Unprocessable
from hounsfield.notifications import channels
from hounsfield.notifications.hub import hub
from hounsfield.notifications.models import (
    Delivery,
    Notification,
    NotificationEvent,
    Preference,
    PushSubscription,
)
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

DELIVERIES = Counter(
    "hounsfield_notification_deliveries_total",
    "Notification delivery attempts by channel and outcome",
    ["channel", "status"],
)


class Kind(StrEnum):
    report_approved = "report_approved"
    critical_result = "critical_result"
    ai_result_ready = "ai_result_ready"
    upload_finished = "upload_finished"
    study_arrived_for_assignee = "study_arrived_for_assignee"
    system_alert = "system_alert"


class Channel(StrEnum):
    in_app = "in_app"
    email = "email"
    sms = "sms"
    push = "push"


ROBOTS = ("dingtalk", "wecom")  # group chats: configured in the settings, not per user

# Titles per kind and language. Their parameters are identifiers and counts only (see
# PARAM), so no title (the only text SMS, push, robots and email subjects carry) can hold a
# patient's name.
TITLES: dict[Kind, dict[str, str]] = {
    Kind.report_approved: {"zh-CN": "报告已审核：检查号 {accession}",
                           "en": "Report approved: accession {accession}"},
    Kind.critical_result: {"zh-CN": "危急值：检查号 {accession}，请立即处理",
                           "en": "Critical result: accession {accession}, act now"},
    Kind.ai_result_ready: {"zh-CN": "AI 结果已就绪：检查号 {accession}",
                           "en": "AI result ready: accession {accession}"},
    Kind.upload_finished: {"zh-CN": "上传完成：存储 {stored}，重复 {duplicates}，拒绝 {refused}",
                           "en": "Upload finished: {stored} stored, {duplicates} duplicates, "
                                 "{refused} refused"},
    Kind.study_arrived_for_assignee: {"zh-CN": "新检查已分配给您：检查号 {accession}",
                                      "en": "A study assigned to you arrived: accession "
                                            "{accession}"},
    Kind.system_alert: {"zh-CN": "系统告警：{alert}", "en": "System alert: {alert}"},
}  # fmt: skip

# A kind's other wording, chosen by the `variant` parameter (kept in the event's params, so
# the bell can word it too): an amended report, a failed AI run. Same rule as TITLES.
VARIANTS: dict[tuple[Kind, str], dict[str, str]] = {
    (Kind.report_approved, "amended"): {"zh-CN": "报告已修订：检查号 {accession}",
                                        "en": "Report amended: accession {accession}"},
    (Kind.ai_result_ready, "failed"): {"zh-CN": "AI 分析失败：检查号 {accession}",
                                       "en": "AI run failed: accession {accession}"},
}  # fmt: skip

DEFAULT_CHANNELS: dict[Kind, list[Channel]] = {kind: [Channel.in_app] for kind in Kind}
DEFAULT_CHANNELS[Kind.critical_result] = [Channel.in_app, Channel.email, Channel.sms,
                                          Channel.push]  # fmt: skip
DEFAULT_CHANNELS[Kind.system_alert] = [Channel.in_app, Channel.email]

PARAM = re.compile(r"[A-Za-z0-9._:-]{1,64}")  # ASCII identifiers: never a name


class NotificationNotFound(NotFound):
    """通知不存在。"""

    code = "notification_not_found"
    english = "No such notification."


class UnsafeParameter(Unprocessable):
    """通知参数只能是编号或计数，不能包含姓名等患者信息。"""

    code = "notification_parameter_unsafe"
    english = "Notification parameters are identifiers or counts only, never patient data."


def title_for(kind: Kind, params: Mapping[str, str | int], locale: str) -> str:
    for value in params.values():
        if not isinstance(value, int) and not PARAM.fullmatch(str(value)):
            raise UnsafeParameter()
    variant = params.get("variant")
    texts = VARIANTS.get((kind, str(variant)), TITLES[kind]) if variant else TITLES[kind]
    return texts[locale].format(**params)


def emit(
    session: Session,
    settings: Settings,
    kind: Kind,
    *,
    recipients: Iterable[uuid.UUID] = (),
    permission: Permission | None = None,
    params: Mapping[str, str | int] | None = None,
    detail: str | None = None,
    link: str | None = None,
) -> NotificationEvent:
    """Emit a domain event to `recipients` and every active holder of `permission`: stored
    in-app, pushed live, and queued for the channels each recipient chose (and the robots)."""
    config = settings.notifications
    event = NotificationEvent(
        kind=kind.value, title=title_for(kind, params or {}, config.locale),
        detail=detail, link=link, params=json.dumps(params or {}, sort_keys=True),
    )  # fmt: skip
    session.add(event)
    session.flush()
    deliveries: list[Delivery] = []
    for user in _recipients(session, recipients, permission):
        chosen = channels_of(session, user.id)[kind]
        if Channel.in_app in chosen:
            _store_in_app(session, event, user.id)
        deliveries += [
            Delivery(event_id=event.id, user_id=user.id, channel=channel.value)
            for channel in chosen
            if channel is not Channel.in_app and _reachable(session, settings, user.id, channel)
        ]
    if kind.value in config.robot_kinds:
        deliveries += [Delivery(event_id=event.id, user_id=None, channel=robot)
                       for robot in ROBOTS if _robot_configured(settings, robot)]  # fmt: skip
    session.add_all(deliveries)
    session.flush()
    _queue(session, deliveries)
    return event


def _queue(session: Session, deliveries: list[Delivery]) -> None:
    from hounsfield.notifications import tasks  # tasks imports this module
    from hounsfield.worker import enqueue

    for delivery in deliveries:
        enqueue(session, tasks.deliver, delivery_id=str(delivery.id))


def _recipients(
    session: Session, ids: Iterable[uuid.UUID], permission: Permission | None
) -> list[User]:
    wanted = set(ids)
    users = list(session.scalars(select(User).where(User.id.in_(wanted)))) if wanted else []
    if permission is not None:
        holders = session.scalars(select(User).where(User.active.is_(True)))
        users += [u for u in holders if permission.value in u.permissions and u.id not in wanted]
    return [u for u in users if u.active]


def _store_in_app(session: Session, event: NotificationEvent, user_id: uuid.UUID) -> None:
    notification = Notification(event_id=event.id, user_id=user_id, created_at=event.created_at)
    session.add(notification)
    session.flush()
    message = {"id": str(notification.id), "kind": event.kind, "title": event.title,
               "created_at": event.created_at.isoformat()}  # fmt: skip
    after_commit(session, lambda: hub.publish(user_id, message))


def _reachable(session: Session, settings: Settings, user_id: uuid.UUID, channel: Channel) -> bool:
    """The channel is configured and the user has an address for it."""
    config = settings.notifications
    preference = session.get(Preference, user_id)
    if channel is Channel.email:
        return bool(config.smtp_host and preference and preference.email)
    if channel is Channel.sms:
        return bool(config.sms_url and preference and preference.phone)
    subscriptions = select(func.count()).where(PushSubscription.user_id == user_id)
    return bool(config.vapid_subject and session.scalar(subscriptions))


def _robot_configured(settings: Settings, robot: str) -> bool:
    config = settings.notifications
    return bool(config.dingtalk_webhook if robot == "dingtalk" else config.wecom_webhook)


# -- in-app ---------------------------------------------------------------------------------


def list_for(
    session: Session, user_id: uuid.UUID, *, unread_only: bool, limit: int, offset: int
) -> tuple[list[Notification], int, int]:
    """A page of the user's notifications (newest first), the total and the unread count."""
    mine = select(Notification).where(Notification.user_id == user_id)
    if unread_only:
        mine = mine.where(Notification.read_at.is_(None))
    total = session.scalar(select(func.count()).select_from(mine.subquery())) or 0
    page = mine.order_by(Notification.created_at.desc(), Notification.id).limit(limit)
    return list(session.scalars(page.offset(offset))), total, unread_count(session, user_id)


def unread_count(session: Session, user_id: uuid.UUID) -> int:
    query = select(func.count()).where(
        Notification.user_id == user_id, Notification.read_at.is_(None)
    )
    return session.scalar(query) or 0


def mark_read(session: Session, user_id: uuid.UUID, notification_id: uuid.UUID) -> Notification:
    notification = session.get(Notification, notification_id)
    if notification is None or notification.user_id != user_id:  # others' are not found
        raise NotificationNotFound()
    if notification.read_at is None:
        notification.read_at = utcnow()
    return notification


def mark_all_read(session: Session, user_id: uuid.UUID) -> int:
    result = session.execute(
        update(Notification)
        .where(Notification.user_id == user_id, Notification.read_at.is_(None))
        .values(read_at=utcnow())
    )
    return int(getattr(result, "rowcount", 0) or 0)


# -- preferences ----------------------------------------------------------------------------


@dataclass
class Preferences:
    email: str | None
    phone: str | None
    channels: dict[Kind, list[Channel]]


def channels_of(session: Session, user_id: uuid.UUID) -> dict[Kind, list[Channel]]:
    return preferences(session, user_id).channels


def preferences(session: Session, user_id: uuid.UUID) -> Preferences:
    """The user's addresses and channels per kind (defaults where they chose nothing)."""
    row = session.get(Preference, user_id)
    chosen = json.loads(row.channels) if row else {}
    merged = {kind: [Channel(c) for c in chosen.get(kind.value, DEFAULT_CHANNELS[kind])]
              for kind in Kind}  # fmt: skip
    return Preferences(row.email if row else None, row.phone if row else None, merged)


def set_preferences(session: Session, user_id: uuid.UUID, wanted: Preferences) -> Preferences:
    row = session.get(Preference, user_id) or Preference(user_id=user_id)
    row.email, row.phone = wanted.email, wanted.phone
    # Channels in one canonical order, each once, so that preferences compare equal.
    ordered = {k.value: [c.value for c in Channel if c in v] for k, v in wanted.channels.items()}
    row.channels = json.dumps(ordered, sort_keys=True)
    row.updated_at = utcnow()
    session.add(row)
    session.flush()
    return preferences(session, user_id)


def subscribe_push(
    session: Session, user_id: uuid.UUID, endpoint: str, p256dh: str, auth: str
) -> PushSubscription:
    """Keep a browser's push subscription (the same endpoint again replaces its keys)."""
    key = hashlib.sha256(endpoint.encode()).hexdigest()
    row = session.scalar(select(PushSubscription).where(PushSubscription.endpoint_hash == key))
    if row is None:
        row = PushSubscription(endpoint=endpoint, endpoint_hash=key)
    row.user_id, row.p256dh, row.auth = user_id, p256dh, auth
    session.add(row)
    session.flush()
    return row


# -- delivery -------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outbound:
    """What one delivery sends, read in a short transaction before the network call."""

    delivery_id: uuid.UUID
    channel: str
    message: channels.Message
    address: str | None
    subscriptions: list[tuple[uuid.UUID, str, str, str]]


def outbound(session: Session, delivery_id: uuid.UUID) -> Outbound | None:
    """The message of a pending delivery; None when it was sent or given up already."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None or delivery.status != "pending":
        return None
    event = delivery.event
    message = channels.Message(event.kind, event.title, event.detail, event.link)
    preference = session.get(Preference, delivery.user_id) if delivery.user_id else None
    address = None
    if preference is not None:
        address = preference.email if delivery.channel == Channel.email else preference.phone
    subscriptions = []
    if delivery.channel == Channel.push and delivery.user_id is not None:
        rows = session.scalars(
            select(PushSubscription).where(PushSubscription.user_id == delivery.user_id)
        )
        subscriptions = [(s.id, s.endpoint, s.p256dh, s.auth) for s in rows]
    return Outbound(delivery.id, delivery.channel, message, address, subscriptions)


def send(settings: Settings, out: Outbound) -> list[uuid.UUID]:
    """Send one delivery; returns the push subscriptions found gone. Raises DeliveryFailed."""
    config = settings.notifications
    if out.channel == Channel.email:
        channels.send_email(config, _address(out), out.message)
    elif out.channel == Channel.sms:
        channels.send_sms(config, _address(out), out.message)
    elif out.channel == "dingtalk":
        channels.send_dingtalk(config, out.message)
    elif out.channel == "wecom":
        channels.send_wecom(config, out.message)
    elif out.channel == Channel.push:
        return _push_all(settings, out)
    else:
        raise channels.DeliveryFailed(f"unknown channel {out.channel}")
    return []


def _address(out: Outbound) -> str:
    if not out.address:
        raise channels.DeliveryFailed("no address")
    return out.address


def _push_all(settings: Settings, out: Outbound) -> list[uuid.UUID]:
    gone, failures = [], 0
    for sub_id, endpoint, p256dh, auth in out.subscriptions:
        try:
            if not channels.send_push(settings, endpoint, p256dh, auth, out.message):
                gone.append(sub_id)
        except channels.DeliveryFailed:
            failures += 1
    if failures or not out.subscriptions:
        raise channels.DeliveryFailed(f"push: {failures} of {len(out.subscriptions)} failed")
    return gone


def record_outcome(
    session: Session,
    delivery_id: uuid.UUID,
    error: str | None,
    *,
    max_attempts: int,
    gone: Iterable[uuid.UUID] = (),
) -> str:
    """Note an attempt: sent, or failed (pending again until `max_attempts`). Returns the status."""
    delivery = session.get(Delivery, delivery_id)
    if delivery is None:
        return "missing"
    delivery.attempts += 1
    if error is None:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", utcnow(), None
    else:
        delivery.last_error = error[:255]
        delivery.status = "failed" if delivery.attempts >= max_attempts else "pending"
    for sub_id in gone:
        subscription = session.get(PushSubscription, sub_id)
        if subscription is not None:
            session.delete(subscription)
    DELIVERIES.labels(delivery.channel, "sent" if error is None else "failed").inc()
    return delivery.status


def deliveries_of(session: Session, event_id: uuid.UUID) -> list[Delivery]:
    return list(session.scalars(select(Delivery).where(Delivery.event_id == event_id)))


def unacknowledged_critical(session: Session, older_than: timedelta) -> int:
    """Critical results older than `older_than` that no recipient has read yet."""
    read = select(Notification.event_id).where(Notification.read_at.is_not(None))
    query = select(func.count()).where(
        NotificationEvent.kind == Kind.critical_result.value,
        NotificationEvent.created_at < utcnow() - older_than,
        NotificationEvent.id.not_in(read),
    )
    return session.scalar(query) or 0
