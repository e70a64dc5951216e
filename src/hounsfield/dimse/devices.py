"""The device registry: which DICOM nodes may talk to us, from where, and for what."""

from __future__ import annotations

import ipaddress
import socket
import time
import uuid
from collections.abc import Sequence
from threading import Lock

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.dimse.models import Device
from hounsfield.dimse.schemas import DeviceCreate, DeviceUpdate
from hounsfield.errors import Conflict, NotFound


class DeviceNotFound(NotFound):
    """No such device."""

    code = "device_not_found"


class DuplicateAETitle(Conflict):
    """Another device already has this AE title."""

    code = "duplicate_ae_title"


def _summary(device: Device) -> dict[str, object]:
    return {
        "ae_title": device.ae_title,
        "host": device.host,
        "port": device.port,
        "operations": device.operations,
        "enabled": device.enabled,
        "tls": device.tls,
    }


def list_devices(session: Session, limit: int, offset: int) -> tuple[Sequence[Device], int]:
    """Registered devices by AE title, one page, and how many there are."""
    total = session.scalar(select(func.count()).select_from(Device)) or 0
    rows = session.scalars(select(Device).order_by(Device.ae_title).limit(limit).offset(offset))
    return rows.all(), total


def get_device(session: Session, device_id: uuid.UUID) -> Device:
    device = session.get(Device, device_id)
    if device is None:
        raise DeviceNotFound()
    return device


def find_by_ae_title(session: Session, ae_title: str) -> Device | None:
    """The device with this AE title (trailing/leading spaces are not significant)."""
    return session.scalar(select(Device).where(Device.ae_title == ae_title.strip()))


def _check_unique(session: Session, ae_title: str, own_id: uuid.UUID | None) -> None:
    other = find_by_ae_title(session, ae_title)
    if other is not None and other.id != own_id:
        raise DuplicateAETitle(details={"ae_title": ae_title})


def _flush_unique(session: Session, ae_title: str) -> None:
    """Flush; a concurrent registration of the same AE title loses on the unique constraint."""
    try:
        with session.begin_nested():
            session.flush()
    except IntegrityError as exc:
        raise DuplicateAETitle(details={"ae_title": ae_title}) from exc


def create_device(session: Session, actor: Actor | None, data: DeviceCreate) -> Device:
    """Register a device; its AE title must be unique."""
    _check_unique(session, data.ae_title, None)
    device = Device(
        ae_title=data.ae_title,
        host=data.host,
        port=data.port,
        modality=data.modality,
        department=data.department,
        description=data.description,
        enabled=data.enabled,
        tls=data.tls,
    )
    device.operations = list(data.operations)
    session.add(device)
    _flush_unique(session, data.ae_title)
    audit.record(
        session, "device.create", actor,
        resource_type="device", resource_id=str(device.id), detail=_summary(device),
    )  # fmt: skip
    return device


def update_device(
    session: Session, actor: Actor | None, device_id: uuid.UUID, data: DeviceUpdate
) -> Device:
    """Change a device's registration."""
    device = get_device(session, device_id)
    changes = data.model_dump(exclude_unset=True)
    if changes.get("ae_title") is not None:
        _check_unique(session, changes["ae_title"], device.id)
    for field, value in changes.items():
        if value is None:
            continue
        setattr(device, field, list(value) if field == "operations" else value)
    _flush_unique(session, device.ae_title)
    audit.record(
        session, "device.update", actor,
        resource_type="device", resource_id=str(device.id),
        detail={"changed": sorted(changes), **_summary(device)},
    )  # fmt: skip
    return device


def delete_device(session: Session, actor: Actor | None, device_id: uuid.UUID) -> None:
    """Remove a device from the registry."""
    device = get_device(session, device_id)
    detail = _summary(device)
    session.delete(device)
    audit.record(
        session, "device.delete", actor,
        resource_type="device", resource_id=str(device_id), detail=detail,
    )  # fmt: skip


_resolve_lock = Lock()
_resolved: dict[str, tuple[float, frozenset[str]]] = {}
_RESOLVE_TTL_S = 60.0


def _addresses(host: str) -> frozenset[str]:
    now = time.monotonic()
    with _resolve_lock:
        cached = _resolved.get(host)
        if cached and now - cached[0] < _RESOLVE_TTL_S:
            return cached[1]
    try:
        infos = socket.getaddrinfo(host, None, proto=socket.IPPROTO_TCP)
        found = frozenset(_normal(str(info[4][0])) for info in infos)
    except OSError:
        found = frozenset()
    with _resolve_lock:
        _resolved[host] = (now, found)
    return found


def _normal(address: str) -> str:
    try:
        ip = ipaddress.ip_address(address.split("%", 1)[0])
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return str(ip.ipv4_mapped)
    return str(ip)


def host_matches(device: Device, peer_address: str) -> bool:
    """Whether a connection from `peer_address` may speak for `device` (its registered host)."""
    peer = _normal(peer_address)
    if _normal(device.host) == peer:
        return True
    return peer in _addresses(device.host)
