"""The external channels: each sends one message and raises DeliveryFailed when it could not.

Only `Message.title` (free of patient data) leaves through SMS, push and the robots; email
carries it as the subject and `detail` in the body, over TLS.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import smtplib
import ssl
import threading
import time
import urllib.parse
from dataclasses import dataclass
from email.message import EmailMessage
from pathlib import Path

import httpx
from py_vapid import Vapid
from pywebpush import WebPushException, webpush

from hounsfield.config import NotificationSettings, Settings


class DeliveryFailed(Exception):
    """One attempt failed; the reason is short and names no person."""


@dataclass(frozen=True)
class Message:
    kind: str
    title: str
    detail: str | None
    link: str | None


def send_email(config: NotificationSettings, to: str, message: Message) -> None:
    """Send over SMTP with STARTTLS, implicit TLS, or (loopback relays only) plain."""
    if not config.smtp_host:
        raise DeliveryFailed("email is not configured")
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = config.smtp_from, to, message.title
    mail.set_content("\n\n".join(p for p in (message.title, message.detail, message.link) if p))
    context = ssl.create_default_context(cafile=config.smtp_ca_file)
    try:
        if config.smtp_security == "tls":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                config.smtp_host, config.smtp_port, timeout=config.timeout_s, context=context
            )
        else:
            smtp = smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout_s)
        with smtp:
            if config.smtp_security == "starttls":
                smtp.starttls(context=context)
            if config.smtp_username and config.smtp_password:
                smtp.login(config.smtp_username, config.smtp_password.get_secret_value())
            smtp.send_message(mail)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"smtp: {type(exc).__name__}") from exc


def send_sms(config: NotificationSettings, phone: str, message: Message) -> None:
    """POST the template request in the shape of Aliyun's SendSms (Tencent's is alike):
    phone, signature, template id and its parameters; the body is HMAC-SHA256 signed."""
    if not config.sms_url:
        raise DeliveryFailed("sms is not configured")
    body = json.dumps(
        {
            "PhoneNumbers": phone,
            "SignName": config.sms_sign_name,
            "TemplateCode": config.sms_template_id,
            "TemplateParam": json.dumps({"title": message.title}, ensure_ascii=False),
        },
        ensure_ascii=False,
    ).encode()
    headers = {"Content-Type": "application/json; charset=utf-8"}
    if config.sms_access_key_id and config.sms_access_key_secret:
        secret = config.sms_access_key_secret.get_secret_value().encode()
        headers["X-Access-Key-Id"] = config.sms_access_key_id
        headers["X-Signature"] = hmac.new(secret, body, hashlib.sha256).hexdigest()
    answer = _post(config, config.sms_url, body, headers)
    if answer.get("Code", "OK") != "OK":
        raise DeliveryFailed(f"sms gateway: {str(answer.get('Code'))[:64]}")


def send_dingtalk(config: NotificationSettings, message: Message) -> None:
    """A DingTalk robot text; with a secret the URL is signed (加签): timestamp + HMAC-SHA256."""
    if not config.dingtalk_webhook:
        raise DeliveryFailed("dingtalk is not configured")
    url = config.dingtalk_webhook
    if config.dingtalk_secret:
        timestamp = str(round(time.time() * 1000))
        url = _join_query(url, timestamp=timestamp, sign=dingtalk_sign(
            config.dingtalk_secret.get_secret_value(), timestamp))  # fmt: skip
    _robot(config, url, message)


def dingtalk_sign(secret: str, timestamp: str) -> str:
    """base64(HMAC-SHA256(secret, "timestamp\\nsecret")), as DingTalk's robot docs define it."""
    digest = hmac.new(secret.encode(), f"{timestamp}\n{secret}".encode(), hashlib.sha256)
    return base64.b64encode(digest.digest()).decode()


def send_wecom(config: NotificationSettings, message: Message) -> None:
    """A WeCom (企业微信) group robot text (the webhook key is its only credential)."""
    if not config.wecom_webhook:
        raise DeliveryFailed("wecom is not configured")
    _robot(config, config.wecom_webhook, message)


def _robot(config: NotificationSettings, url: str, message: Message) -> None:
    text = message.title if not message.link else f"{message.title}\n{message.link}"
    body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False)
    answer = _post(config, url, body.encode(), {"Content-Type": "application/json"})
    if answer.get("errcode", 0) != 0:
        raise DeliveryFailed(f"robot: errcode {str(answer.get('errcode'))[:32]}")


def _join_query(url: str, **params: str) -> str:
    separator = "&" if urllib.parse.urlsplit(url).query else "?"
    return url + separator + urllib.parse.urlencode(params)


def _post(
    config: NotificationSettings, url: str, body: bytes, headers: dict[str, str]
) -> dict[str, object]:
    try:
        response = httpx.post(url, content=body, headers=headers, timeout=config.timeout_s)
    except httpx.HTTPError as exc:
        raise DeliveryFailed(f"http: {type(exc).__name__}") from exc
    if response.status_code >= 300:
        raise DeliveryFailed(f"http status {response.status_code}")
    try:
        answer = response.json()
    except ValueError:
        return {}
    return answer if isinstance(answer, dict) else {}


# -- Web Push -------------------------------------------------------------------------------

VAPID_FILE = "vapid.pem"
_vapid_lock = threading.Lock()


def vapid_key(settings: Settings) -> Vapid:
    """The server's VAPID key (RFC 8292): generated once under <data_dir>/secrets (0600)."""
    path = (settings.data_dir / "secrets" / VAPID_FILE).resolve()
    with _vapid_lock:
        if not path.exists():
            _create_vapid(path)
        return Vapid.from_file(str(path))


def _create_vapid(path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    key = Vapid()
    key.generate_keys()
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_bytes(key.private_pem())
    tmp.chmod(0o600)
    tmp.replace(path)  # atomic: a second process reads a whole key or creates its own


def vapid_public_key(settings: Settings) -> str:
    """The applicationServerKey a browser subscribes with (base64url, uncompressed point)."""
    from cryptography.hazmat.primitives import serialization

    raw = vapid_key(settings).public_key.public_bytes(
        serialization.Encoding.X962, serialization.PublicFormat.UncompressedPoint
    )
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def send_push(settings: Settings, endpoint: str, p256dh: str, auth: str, message: Message) -> bool:
    """Encrypt (RFC 8291, aes128gcm) and send; False when the subscription is gone (404/410)."""
    config = settings.notifications
    if not config.vapid_subject:
        raise DeliveryFailed("push is not configured")
    payload = json.dumps({"kind": message.kind, "title": message.title, "link": message.link},
                         ensure_ascii=False)  # fmt: skip
    try:
        webpush(
            {"endpoint": endpoint, "keys": {"p256dh": p256dh, "auth": auth}},
            data=payload,
            vapid_private_key=vapid_key(settings),
            vapid_claims={"sub": config.vapid_subject},
            timeout=config.timeout_s,
            ttl=24 * 3600,
        )
    except WebPushException as exc:
        status = getattr(exc.response, "status_code", None)
        if status in (404, 410):
            return False
        raise DeliveryFailed(f"push: status {status}") from exc
    except OSError as exc:
        raise DeliveryFailed(f"push: {type(exc).__name__}") from exc
    return True
