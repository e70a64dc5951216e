"""API shapes of the device registry and the DICOM SCU actions."""

from __future__ import annotations

import ipaddress
import re
import uuid
from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field

from hounsfield.dimse import hosts

Operation = Literal["store", "find", "move", "get"]

# PS3.5 Table 6.2-1, VR AE: at most 16 characters of the default repertoire without
# backslash and control characters; leading/trailing spaces are not significant and a
# value of spaces only is not allowed.
_AE_CHARS = re.compile(r"^[\x20-\x5b\x5d-\x7e]{1,16}$")
_HOSTNAME = re.compile(
    r"^(?=.{1,253}$)([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)"
    r"(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$"
)
# Cloud metadata endpoints (SECURITY.md I11) reached by name rather than address.
_METADATA_NAMES = {"metadata", "metadata.google.internal", "metadata.azure.internal"}


def check_ae_title(value: str) -> str:
    """A valid AE title (PS3.5 AE VR), without its non-significant spaces."""
    stripped = value.strip(" ")
    if not stripped or not _AE_CHARS.match(stripped):
        raise ValueError(
            "an AE title is 1-16 characters of the DICOM default repertoire, "
            "without backslash or control characters"
        )
    return stripped


def check_host(value: str) -> str:
    """A host name or IP address we may connect to: never link-local/metadata addresses.

    Judged by what the OS would connect to (any inet_aton spelling, every address a name
    resolves to); the connection itself checks again (`hosts.connect_address`).
    """
    host = value.strip()
    address = hosts.literal(host)
    if address is None:
        name = host.lower().rstrip(".")
        if not _HOSTNAME.match(host) or name in _METADATA_NAMES:
            raise ValueError("not a valid host name or IP address")
        try:
            hosts.check(name)
        except hosts.HostRefused as exc:
            raise ValueError(f"the host resolves to a refused address ({exc})") from None
        return name
    reason = hosts.refused(address)
    if reason is not None:
        raise ValueError(f"refused: {reason} (link-local, metadata, unspecified, multicast)")
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return str(address.ipv4_mapped)
    return str(address)


AETitle = Annotated[str, AfterValidator(check_ae_title)]
Host = Annotated[str, Field(min_length=1, max_length=255), AfterValidator(check_host)]
Port = Annotated[int, Field(ge=1, le=65535)]


class DeviceCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ae_title: AETitle
    host: Host
    port: Port
    modality: str = Field("", max_length=16)
    department: str = Field("", max_length=64)
    description: str = Field("", max_length=255)
    operations: list[Operation] = Field(default_factory=lambda: list[Operation](["store"]))
    enabled: bool = True
    tls: bool = False


class DeviceUpdate(BaseModel):
    """Fields that may change; anything else is refused (422)."""

    model_config = ConfigDict(extra="forbid")
    ae_title: AETitle | None = None
    host: Host | None = None
    port: Port | None = None
    modality: str | None = Field(None, max_length=16)
    department: str | None = Field(None, max_length=64)
    description: str | None = Field(None, max_length=255)
    operations: list[Operation] | None = None
    enabled: bool | None = None
    tls: bool | None = None


class DeviceRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    ae_title: str
    host: str
    port: int
    modality: str
    department: str
    description: str
    operations: list[Operation]
    enabled: bool
    tls: bool
    created_at: datetime
    updated_at: datetime


class EchoResult(BaseModel):
    """Outcome of a C-ECHO to a device."""

    success: bool
    status: int | None = Field(None, description="DIMSE status of the C-ECHO response.")
    round_trip_ms: float | None = None
    error: str | None = None


class SendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    device_id: uuid.UUID
    series_instance_uid: str | None = Field(None, max_length=64)


class JobRead(BaseModel):
    """A send (C-STORE to a device) or retrieve (C-MOVE to us) and its progress."""

    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    kind: Literal["send", "retrieve"]
    device_id: uuid.UUID
    study_instance_uid: str
    series_instance_uid: str | None
    status: Literal["queued", "running", "completed", "partial", "failed"]
    total: int
    completed: int
    failed: int
    warning: int
    attempts: int
    error: str | None
    created_at: datetime
    updated_at: datetime


class RemoteQuery(BaseModel):
    """A C-FIND to a remote node; `filters` maps DICOM keywords to matching values."""

    model_config = ConfigDict(extra="forbid")
    level: Literal["PATIENT", "STUDY", "SERIES", "IMAGE"] = "STUDY"
    model: Literal["study", "patient"] = "study"
    filters: dict[str, str] = Field(default_factory=dict)
    return_keys: list[str] = Field(default_factory=list)


class RemoteQueryResult(BaseModel):
    items: list[dict[str, str]]
    status: int


class RemoteRetrieve(BaseModel):
    """A C-MOVE from a remote node to us (e.g. to import priors)."""

    model_config = ConfigDict(extra="forbid")
    study_instance_uid: str = Field(max_length=64)
    series_instance_uid: str | None = Field(None, max_length=64)
