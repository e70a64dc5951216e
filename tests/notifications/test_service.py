"""emit(): in-app copies, unread counts, read state, preferences, robots, parameter safety."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.notifications import service
from hounsfield.users.permissions import Permission
from tests.notifications.conftest import PATIENT, deliveries

Kind = service.Kind


def _page(user: Any, **kwargs: Any) -> tuple[list[Any], int, int]:
    with transaction() as session:
        return service.list_for(session, user.id, **{"unread_only": False, "limit": 50,
                                                     "offset": 0, **kwargs})  # fmt: skip


def test_emit_reaches_recipients_and_permission_holders_only(
    emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    doctor, admin, nurse = make_user("doctor"), make_user("admin"), make_user("nurse")
    emit(Kind.system_alert, recipients=[doctor.id], permission=Permission.system_admin,
         params={"alert": "disk_full"})  # fmt: skip
    for user in (doctor, admin):
        items, total, unread = _page(user)
        assert (total, unread) == (1, 1)
        assert items[0].event.title == "系统告警：disk_full"
    assert _page(nurse)[1] == 0


def test_unread_counts_and_mark_read(
    emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    user, other = make_user("doctor"), make_user("doctor")
    for n in range(3):
        emit(Kind.upload_finished, recipients=[user.id],
             params={"stored": n, "duplicates": 0, "refused": 0})  # fmt: skip
    items, total, unread = _page(user)
    assert (total, unread) == (3, 3)
    assert items[0].event.title.startswith("上传完成：存储 2")  # newest first
    with transaction(write=True) as session:
        service.mark_read(session, user.id, items[0].id)
        with pytest.raises(service.NotificationNotFound):  # someone else's is not found
            service.mark_read(session, other.id, items[1].id)
    assert _page(user)[2] == 2
    assert len(_page(user, unread_only=True)[0]) == 2
    with transaction(write=True) as session:
        assert service.mark_all_read(session, user.id) == 2
    assert _page(user)[1:] == (3, 0)


def test_a_name_as_a_parameter_is_refused(make_user: Callable[..., Any]) -> None:
    user = make_user("doctor")
    with transaction(write=True) as session, pytest.raises(service.UnsafeParameter):
        service.emit(session, get_settings(), Kind.critical_result, recipients=[user.id],
                     params={"accession": PATIENT})  # fmt: skip
    with transaction(write=True) as session, pytest.raises(service.UnsafeParameter):
        service.emit(session, get_settings(), Kind.critical_result, recipients=[user.id],
                     params={"accession": "ZHANG^SAN FENG"})  # fmt: skip


def test_preferences_choose_the_channels(
    emit: Callable[..., Any], with_address: Callable[..., Any], settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_NOTIFICATIONS__SMTP_HOST="127.0.0.1",
                 HOUNSFIELD_NOTIFICATIONS__SMS_URL="http://127.0.0.1:9/sms")  # fmt: skip
    quiet = with_address("a@example.org", "13800000000", critical_result=["email"])
    event = emit(Kind.critical_result, recipients=[quiet.id], params={"accession": "A1"})
    assert set(deliveries(event)) == {"email"}  # no SMS, and no in-app copy either
    assert _page(quiet)[1] == 0
    # Defaults: critical results go everywhere the user has an address for.
    default = with_address(None, "13800000001")
    event = emit(Kind.critical_result, recipients=[default.id], params={"accession": "A2"})
    assert set(deliveries(event)) == {"sms"}  # no email address, no push subscription
    assert _page(default)[1] == 1


def test_robots_receive_the_configured_kinds_only(
    emit: Callable[..., Any], make_user: Callable[..., Any], settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_NOTIFICATIONS__WECOM_WEBHOOK="http://127.0.0.1:9/robot")
    user = make_user("doctor")
    alert = emit(Kind.system_alert, params={"alert": "backup_failed"})
    upload = emit(Kind.upload_finished, recipients=[user.id],
                  params={"stored": 1, "duplicates": 0, "refused": 0})  # fmt: skip
    assert set(deliveries(alert)) == {"wecom"}
    assert deliveries(upload) == {}
