"""HTTP: /api/devices (the DICOM device registry) and the SCU actions on devices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep, transaction
from hounsfield.dimse import devices, scu
from hounsfield.dimse.schemas import DeviceCreate, DeviceRead, DeviceUpdate, EchoResult
from hounsfield.schemas import Page
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api", tags=["devices"])

DeviceReader = Annotated[User, requires(Permission.device_read)]
DeviceManager = Annotated[User, requires(Permission.device_manage)]


def peer_of(device_id: uuid.UUID) -> scu.Peer:
    """Read a device's address in a short transaction of its own (no session held open)."""
    with transaction() as session:
        device = devices.get_device(session, device_id)
        return scu.Peer(device.ae_title, device.host, device.port, device.tls)


@router.get("/devices")
def list_devices(
    _user: DeviceReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0)] = 0,
) -> Page[DeviceRead]:
    rows, total = devices.list_devices(session, limit, offset)
    return Page(items=[DeviceRead.model_validate(d) for d in rows], total=total)


@router.post("/devices", status_code=status.HTTP_201_CREATED)
def create_device(body: DeviceCreate, user: DeviceManager, session: WriteSessionDep) -> DeviceRead:
    return DeviceRead.model_validate(devices.create_device(session, user, body))


@router.get("/devices/{device_id}")
def get_device(device_id: uuid.UUID, _user: DeviceReader, session: SessionDep) -> DeviceRead:
    return DeviceRead.model_validate(devices.get_device(session, device_id))


@router.patch("/devices/{device_id}")
def update_device(
    device_id: uuid.UUID, body: DeviceUpdate, user: DeviceManager, session: WriteSessionDep
) -> DeviceRead:
    return DeviceRead.model_validate(devices.update_device(session, user, device_id, body))


@router.delete("/devices/{device_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_device(device_id: uuid.UUID, user: DeviceManager, session: WriteSessionDep) -> Response:
    devices.delete_device(session, user, device_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/devices/{device_id}/echo")
def echo_device(device_id: uuid.UUID, _user: DeviceReader) -> EchoResult:
    """C-ECHO the device: is it reachable, and does it accept us?"""
    return scu.echo(peer_of(device_id))
