"""Each external channel against its real local receiver: SMTP (aiosmtpd, STARTTLS and
implicit TLS), an SMS gateway, a Web Push endpoint that decrypts, DingTalk and WeCom robots
that verify what they get; retries through the outbox; no patient name where it must not be."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import urllib.parse
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import http_ece
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec
from py_vapid import Vapid
from sqlalchemy import func, select

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.notifications import channels, service
from hounsfield.notifications.models import PushSubscription
from hounsfield.worker import MAX_ATTEMPTS, pending_count, requeue_pending, shutdown_local_pool
from tests.notifications.conftest import PATIENT, deliveries
from tests.notifications.receivers import HttpReceiver, Received, SmtpServer, self_signed

Kind = service.Kind
DETAIL = f"患者 {PATIENT}：右肺上叶大面积肺栓塞"


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    return self_signed(tmp_path_factory.mktemp("smtp-tls"))


@pytest.fixture(params=["starttls", "tls"])
def smtp(
    request: pytest.FixtureRequest,
    certificate: tuple[Path, Path],
    settings_env: Callable[..., None],
) -> Iterator[SmtpServer]:
    server = SmtpServer(*certificate, security=request.param)
    port = server.start()
    settings_env(
        HOUNSFIELD_NOTIFICATIONS__SMTP_HOST="127.0.0.1",
        HOUNSFIELD_NOTIFICATIONS__SMTP_PORT=str(port),
        HOUNSFIELD_NOTIFICATIONS__SMTP_SECURITY=request.param,
        HOUNSFIELD_NOTIFICATIONS__SMTP_CA_FILE=str(certificate[0]),
        HOUNSFIELD_NOTIFICATIONS__SMTP_FROM="pacs@hospital.example",
    )
    yield server
    server.stop()


def test_email_over_tls_has_no_patient_name_in_the_subject(
    smtp: SmtpServer, emit: Callable[..., Any], with_address: Callable[..., Any]
) -> None:
    user = with_address("doctor@hospital.example")
    event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "ACC42"},
                 detail=DETAIL, link="/read/1.2.3")  # fmt: skip
    mail = smtp.next_mail()
    assert mail.tls  # STARTTLS or implicit TLS, verified against the configured CA
    assert mail.recipients == ["doctor@hospital.example"]
    subject = str(mail.message["Subject"])
    assert subject == "危急值：检查号 ACC42，请立即处理"
    assert PATIENT not in subject
    assert PATIENT in mail.message.get_content()  # the body may name them
    delivery = deliveries(event)["email"]
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def test_email_to_an_untrusted_certificate_fails_and_stays_pending(
    certificate: tuple[Path, Path],
    settings_env: Callable[..., None],
    emit: Callable[..., Any],
    with_address: Callable[..., Any],
) -> None:
    server = SmtpServer(*certificate, security="tls")
    port = server.start()
    try:  # no CA file: the self-signed certificate is not trusted, nothing is sent
        settings_env(HOUNSFIELD_NOTIFICATIONS__SMTP_HOST="127.0.0.1",
                     HOUNSFIELD_NOTIFICATIONS__SMTP_PORT=str(port),
                     HOUNSFIELD_NOTIFICATIONS__SMTP_SECURITY="tls")  # fmt: skip
        user = with_address("doctor@hospital.example")
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "A1"})
        delivery = deliveries(event)["email"]
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error == "smtp: SSLCertVerificationError"
        assert server.inbox.mails.empty()
    finally:
        server.stop()


def test_sms_gateway_gets_the_template_request_signed_without_the_name(
    settings_env: Callable[..., None], emit: Callable[..., Any], with_address: Callable[..., Any]
) -> None:
    secret = "gateway-secret-for-tests"
    with HttpReceiver() as gateway:
        settings_env(
            HOUNSFIELD_NOTIFICATIONS__SMS_URL=f"{gateway.url}/sms/send",
            HOUNSFIELD_NOTIFICATIONS__SMS_SIGN_NAME="市一医院",
            HOUNSFIELD_NOTIFICATIONS__SMS_TEMPLATE_ID="SMS_123456",
            HOUNSFIELD_NOTIFICATIONS__SMS_ACCESS_KEY_ID="LTAI-test",
            HOUNSFIELD_NOTIFICATIONS__SMS_ACCESS_KEY_SECRET=secret,
        )
        user = with_address(phone="+86 138 0013 8000")
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "ACC7"},
                     detail=DETAIL)  # fmt: skip
        got = gateway.next_request()
    assert got.path == "/sms/send"
    expected = hmac.new(secret.encode(), got.body, hashlib.sha256).hexdigest()
    assert got.headers["x-signature"] == expected
    assert got.headers["x-access-key-id"] == "LTAI-test"
    body = got.json()
    assert (body["PhoneNumbers"], body["SignName"], body["TemplateCode"]) == (
        "+86 138 0013 8000", "市一医院", "SMS_123456")  # fmt: skip
    assert json.loads(body["TemplateParam"]) == {"title": "危急值：检查号 ACC7，请立即处理"}
    assert PATIENT not in got.body.decode()
    assert deliveries(event)["sms"].status == "sent"


def test_a_failing_gateway_is_retried_through_the_outbox_then_marked_failed(
    settings_env: Callable[..., None], emit: Callable[..., Any], with_address: Callable[..., Any]
) -> None:
    with HttpReceiver(lambda _r: (200, b'{"Code": "isv.BUSINESS_LIMIT_CONTROL"}')) as gateway:
        settings_env(HOUNSFIELD_NOTIFICATIONS__SMS_URL=gateway.url)
        user = with_address(phone="13800138000")
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "A9"})
        delivery = deliveries(event)["sms"]
        assert (delivery.status, delivery.attempts) == ("pending", 1)
        assert delivery.last_error == "sms gateway: isv.BUSINESS_LIMIT_CONTROL"
        for attempt in range(2, MAX_ATTEMPTS + 1):
            requeue_pending(everything=True)  # what the requeuer does once the entry is stale
            shutdown_local_pool(wait=True)
            assert deliveries(event)["sms"].attempts == attempt
        assert gateway.requests.qsize() == MAX_ATTEMPTS
    assert deliveries(event)["sms"].status == "failed"
    assert pending_count() == 0  # given up: the outbox entry is gone


def test_dingtalk_robot_request_is_signed_and_verified(
    settings_env: Callable[..., None], emit: Callable[..., Any]
) -> None:
    secret = "SEC0123456789abcdef"

    def verify(got: Received) -> tuple[int, bytes]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(got.path).query)
        timestamp, sign = query["timestamp"][0], query["sign"][0]
        expected = base64.b64encode(
            hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256).digest()
        ).decode()
        if query["access_token"] != ["robot-token"] or sign != expected:
            return 200, b'{"errcode": 310000, "errmsg": "sign not match"}'
        return 200, b'{"errcode": 0, "errmsg": "ok"}'

    with HttpReceiver(verify) as robot:
        settings_env(
            HOUNSFIELD_NOTIFICATIONS__DINGTALK_WEBHOOK=f"{robot.url}/robot/send?access_token=robot-token",
            HOUNSFIELD_NOTIFICATIONS__DINGTALK_SECRET=secret,
        )
        event = emit(Kind.system_alert, params={"alert": "storage_nearly_full"})
        got = robot.next_request()
    assert got.json() == {"msgtype": "text", "text": {"content": "系统告警：storage_nearly_full"}}
    assert deliveries(event)["dingtalk"].status == "sent"


def test_dingtalk_with_a_wrong_secret_is_refused_by_the_robot(
    settings_env: Callable[..., None], emit: Callable[..., Any]
) -> None:
    def verify(got: Received) -> tuple[int, bytes]:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(got.path).query)
        ok = query["sign"][0] == channels.dingtalk_sign("right-secret", query["timestamp"][0])
        return 200, b'{"errcode": 0}' if ok else b'{"errcode": 310000}'

    with HttpReceiver(verify) as robot:
        settings_env(HOUNSFIELD_NOTIFICATIONS__DINGTALK_WEBHOOK=robot.url,
                     HOUNSFIELD_NOTIFICATIONS__DINGTALK_SECRET="wrong-secret")  # fmt: skip
        event = emit(Kind.system_alert, params={"alert": "x"})
    delivery = deliveries(event)["dingtalk"]
    assert (delivery.status, delivery.last_error) == ("pending", "robot: errcode 310000")


def test_wecom_robot_gets_a_critical_result_without_the_name(
    settings_env: Callable[..., None], emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    with HttpReceiver() as robot:
        settings_env(
            HOUNSFIELD_NOTIFICATIONS__WECOM_WEBHOOK=f"{robot.url}/cgi-bin/webhook/send?key=k1"
        )
        user = make_user("doctor")
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "ACC3"},
                     detail=DETAIL, link="/read/1.2.3")  # fmt: skip
        got = robot.next_request()
    assert got.path == "/cgi-bin/webhook/send?key=k1"
    content = got.json()["text"]["content"]
    assert content == "危急值：检查号 ACC3，请立即处理\n/read/1.2.3"
    assert PATIENT not in got.body.decode()
    assert deliveries(event)["wecom"].status == "sent"


# -- Web Push -------------------------------------------------------------------------------


class PushEndpoint:
    """A push service endpoint holding the browser's keys: it checks the VAPID signature and
    decrypts each message (RFC 8291 aes128gcm) as the browser would."""

    def __init__(self) -> None:
        self.private_key = ec.generate_private_key(ec.SECP256R1())
        self.auth = os.urandom(16)
        self.received: list[dict[str, Any]] = []
        self.vapid_keys: list[str] = []

    def keys(self) -> tuple[str, str]:
        public = self.private_key.public_key().public_bytes(
            serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
        )
        return _b64(public), _b64(self.auth)

    def reply(self, got: Received) -> tuple[int, bytes]:
        authorization = got.headers["authorization"]
        assert Vapid.verify(authorization)  # RFC 8292: the JWT is signed by key k
        key = dict(p.split("=", 1) for p in authorization.split(" ", 1)[1].split(","))["k"]
        self.vapid_keys.append(key)
        plain = http_ece.decrypt(got.body, private_key=self.private_key,
                                 auth_secret=self.auth, version="aes128gcm")  # fmt: skip
        self.received.append(json.loads(plain))
        return 201, b""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def test_web_push_is_encrypted_vapid_signed_and_carries_no_name(
    settings_env: Callable[..., None], emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    endpoint = PushEndpoint()
    settings_env(HOUNSFIELD_NOTIFICATIONS__VAPID_SUBJECT="mailto:pacs-admin@hospital.example")
    with HttpReceiver(endpoint.reply) as push:
        user = make_user("doctor")
        p256dh, auth = endpoint.keys()
        with transaction(write=True) as session:
            service.subscribe_push(session, user.id, f"{push.url}/push/abc", p256dh, auth)
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "ACC5"},
                     detail=DETAIL, link="/read/9")  # fmt: skip
        push.next_request()
    assert push.errors == []
    assert endpoint.received == [
        {"kind": "critical_result", "title": "危急值：检查号 ACC5，请立即处理", "link": "/read/9"}
    ]
    assert endpoint.vapid_keys == [channels.vapid_public_key(get_settings())]
    assert deliveries(event)["push"].status == "sent"
    key_file = get_settings().data_dir / "secrets" / "vapid.pem"
    assert key_file.stat().st_mode & 0o777 == 0o600  # generated here, never built in


def test_a_gone_push_subscription_is_removed(
    settings_env: Callable[..., None], emit: Callable[..., Any], make_user: Callable[..., Any]
) -> None:
    settings_env(HOUNSFIELD_NOTIFICATIONS__VAPID_SUBJECT="mailto:a@b.example")
    endpoint = PushEndpoint()
    with HttpReceiver(lambda _r: (410, b"")) as push:
        user = make_user("doctor")
        with transaction(write=True) as session:
            service.subscribe_push(session, user.id, f"{push.url}/gone", *endpoint.keys())
        event = emit(Kind.critical_result, recipients=[user.id], params={"accession": "A"})
    assert deliveries(event)["push"].status == "sent"  # nothing left to deliver to
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(PushSubscription)) == 0
