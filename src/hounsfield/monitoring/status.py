"""GET /api/system/status (system:admin): what an administrator checks first.

Readiness of each part, the data directory's disk, the background-task backlog, the DICOM
listener, the version, and the effective settings with every secret masked.
"""

from __future__ import annotations

import shutil
import socket
from datetime import datetime
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit, urlunsplit

from fastapi import APIRouter
from pydantic import BaseModel, SecretStr
from sqlalchemy import func, select

from hounsfield import __version__
from hounsfield.auth.deps import requires
from hounsfield.config import Settings, get_settings
from hounsfield.db import transaction, utcnow
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission
from hounsfield.worker import MAX_ATTEMPTS, OutboxEntry

router = APIRouter(prefix="/api/system", tags=["system"])

MASK = "********"
# Plain-string settings whose value is a credential though not typed SecretStr.
_SECRET_WORDS = ("password", "secret", "token", "credential")


class Check(BaseModel):
    name: str
    ok: bool
    problem: str | None = None


class Disk(BaseModel):
    path: str
    total_bytes: int
    used_bytes: int
    free_bytes: int


class Backlog(BaseModel):
    pending: int
    given_up: int
    oldest_at: datetime | None
    oldest_age_s: float


class Listener(BaseModel):
    state: Literal["running", "listening", "not_listening", "disabled"]
    ae_title: str
    port: int


class SystemStatus(BaseModel):
    version: str
    mode: str
    ready: bool
    checks: list[Check]
    disk: Disk | None
    storage_backend: str
    backlog: Backlog | None
    dicom: Listener
    settings: dict[str, Any]


def mask_url(value: str) -> str:
    """A URL without its password or query string (tokens ride in either)."""
    try:
        parts = urlsplit(value)
    except ValueError:
        return MASK
    if not parts.scheme or not parts.netloc:
        return value
    netloc = parts.netloc
    if "@" in netloc:
        userinfo, _, host = netloc.rpartition("@")
        user = userinfo.split(":", 1)[0]
        netloc = f"{user}:{MASK}@{host}" if ":" in userinfo else f"{user}@{host}"
    query = MASK if parts.query else ""
    return urlunsplit((parts.scheme, netloc, parts.path, query, ""))


def _masked(name: str, value: Any) -> Any:
    if isinstance(value, SecretStr):
        return MASK
    if isinstance(value, BaseModel):
        return {k: _masked(k, getattr(value, k)) for k in type(value).model_fields}
    if isinstance(value, str):
        if any(word in name.lower() for word in _SECRET_WORDS):
            return MASK if value else ""
        return mask_url(value) if "://" in value else value
    if isinstance(value, list | tuple | set | frozenset):
        return [_masked(name, v) for v in value]
    if isinstance(value, dict):
        return {str(k): _masked(str(k), v) for k, v in value.items()}
    if value is None or isinstance(value, bool | int | float):
        return value
    return str(value)  # paths, enums


def masked_settings(settings: Settings) -> dict[str, Any]:
    """The effective settings as JSON, secrets replaced by a mask (never their length)."""
    result: dict[str, Any] = _masked("", settings)
    return result


def _checks() -> list[Check]:
    from hounsfield.monitoring.router import READINESS_CHECKS

    return [
        Check(name=name, ok=problem is None, problem=problem)
        for name, check in READINESS_CHECKS.items()
        for problem in [check()]
    ]


def _disk(settings: Settings) -> Disk | None:
    try:
        usage = shutil.disk_usage(settings.data_dir)
    except OSError:
        return None
    return Disk(
        path=str(settings.data_dir),
        total_bytes=usage.total,
        used_bytes=usage.used,
        free_bytes=usage.free,
    )


def _backlog() -> Backlog | None:
    try:
        with transaction() as session:
            live = OutboxEntry.attempts < MAX_ATTEMPTS
            pending = session.scalar(select(func.count()).where(live)) or 0
            oldest = session.scalar(select(func.min(OutboxEntry.created_at)).where(live))
            given_up = session.scalar(select(func.count()).where(~live)) or 0
    except Exception:  # the database is down: its check says so
        return None
    age = (utcnow() - oldest).total_seconds() if oldest else 0.0
    return Backlog(pending=pending, given_up=given_up, oldest_at=oldest, oldest_age_s=age)


def _listener(settings: Settings) -> Listener:
    """This process's embedded listener, else whether anything accepts on the DICOM port
    (production runs the listener as its own process)."""
    from hounsfield.dimse import scp

    cfg = settings.dicom
    state: Literal["running", "listening", "not_listening", "disabled"]
    if not cfg.enabled:
        state = "disabled"
    elif scp.embedded_running():
        state = "running"
    else:
        host = "127.0.0.1" if cfg.host in ("0.0.0.0", "::", "") else cfg.host  # nosec B104
        try:
            with socket.create_connection((host, cfg.port), timeout=1.0):
                state = "listening"
        except OSError:
            state = "not_listening"
    return Listener(state=state, ae_title=cfg.ae_title, port=cfg.port)


@router.get("/status")
def system_status(_user: Annotated[User, requires(Permission.system_admin)]) -> SystemStatus:
    """Readiness, disk, task backlog, DICOM listener, version and the masked settings."""
    settings = get_settings()
    checks = _checks()
    return SystemStatus(
        version=__version__,
        mode=settings.mode,
        ready=all(c.ok for c in checks),
        checks=checks,
        disk=_disk(settings),
        storage_backend=settings.storage.backend,
        backlog=_backlog(),
        dicom=_listener(settings),
        settings=masked_settings(settings),
    )
