"""HTTP: /api/devices (the DICOM device registry) and the SCU actions on devices."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hounsfield.audit import service as audit
from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep, transaction
from hounsfield.dimse import devices, jobs, scu
from hounsfield.dimse.schemas import (
    DeviceCreate,
    DeviceRead,
    DeviceUpdate,
    EchoResult,
    JobRead,
    RemoteQuery,
    RemoteQueryResult,
    RemoteRetrieve,
    SendRequest,
)
from hounsfield.errors import ServiceUnavailable, Unprocessable
from hounsfield.schemas import Page
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api", tags=["devices"])

DeviceReader = Annotated[User, requires(Permission.device_read)]
DeviceManager = Annotated[User, requires(Permission.device_manage)]
ImageReader = Annotated[User, requires(Permission.image_read)]
ImageCreator = Annotated[User, requires(Permission.image_create)]
ImageSender = Annotated[User, requires(Permission.image_send)]


class RemoteUnavailable(ServiceUnavailable):
    """The remote DICOM node refused the association or could not be reached."""

    code = "dicom_remote_unavailable"


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
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
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


@router.post("/devices/{device_id}/query")
def query_device(device_id: uuid.UUID, body: RemoteQuery, user: ImageReader) -> RemoteQueryResult:
    """C-FIND on a remote node (e.g. to look for a patient's priors)."""
    peer = peer_of(device_id)
    try:
        items, final = scu.query(peer, body.level, body.filters, body.return_keys, body.model)
    except ValueError as exc:
        raise Unprocessable(str(exc)) from exc
    except (scu.AssociationFailed, OSError) as exc:
        raise RemoteUnavailable(details={"reason": str(exc) or type(exc).__name__}) from exc
    audit.record_now(
        "dimse.find", user, resource_type="device", resource_id=str(device_id),
        detail={"remote_ae": peer.ae_title, "level": body.level, "keys": sorted(body.filters),
                "matches": len(items)},
    )  # fmt: skip
    return RemoteQueryResult(items=items, status=final)


@router.post("/devices/{device_id}/retrieve", status_code=status.HTTP_202_ACCEPTED)
def retrieve_from_device(
    device_id: uuid.UUID, body: RemoteRetrieve, user: ImageCreator, session: WriteSessionDep
) -> JobRead:
    """C-MOVE a study (or series) from a remote node to us, in the background."""
    job = jobs.start_retrieve(
        session, user, device_id, body.study_instance_uid, body.series_instance_uid
    )
    return JobRead.model_validate(job)


@router.post("/studies/{study_uid}/send", status_code=status.HTTP_202_ACCEPTED)
def send_study(
    study_uid: str, body: SendRequest, user: ImageSender, session: WriteSessionDep
) -> JobRead:
    """C-STORE a study (or one series) to a registered device, in the background."""
    job = jobs.start_send(session, user, study_uid, body.device_id, body.series_instance_uid)
    return JobRead.model_validate(job)


@router.get("/dimse/jobs/{job_id}")
def get_job(job_id: uuid.UUID, _user: ImageReader, session: SessionDep) -> JobRead:
    """A send/retrieve job and its progress."""
    return JobRead.model_validate(jobs.get_job(session, job_id))
