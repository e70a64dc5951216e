from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from hounsfield.users.permissions import Permission

Username = Field(min_length=2, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
RoleName = Field(min_length=2, max_length=64, pattern=r"^[a-z0-9_-]+$")


class UserCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Username
    password: str = Field(min_length=1, max_length=1024)
    display_name: str = Field("", max_length=128)
    roles: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list, description="Groups (departments) by name.")


class UserUpdate(BaseModel):
    """Fields an administrator may change; anything else is refused (422)."""

    model_config = ConfigDict(extra="forbid")
    display_name: str | None = Field(None, max_length=128)
    active: bool | None = None
    roles: list[str] | None = None
    groups: list[str] | None = Field(None, description="Groups by name; [] unscopes the user.")
    password: str | None = Field(None, max_length=1024)


class UserRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    username: str
    display_name: str
    active: bool
    demo: bool
    roles: list[str] = Field(validation_alias="role_names")
    groups: list[str] = Field(validation_alias="group_names")
    created_at: datetime
    service_account: bool = False
    must_change_password: bool = False
    locked: bool = Field(False, description="Locked out after failed logins (for a while).")


class RoleCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = RoleName
    description: str = Field("", max_length=255)
    permissions: list[Permission]


class RoleUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    description: str | None = Field(None, max_length=255)
    permissions: list[Permission] | None = None


class RoleRead(BaseModel):
    id: uuid.UUID
    name: str
    description: str
    builtin: bool
    permissions: list[str]


class PermissionRead(BaseModel):
    name: str
    description: str


class GroupCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = RoleName
    department: str = Field(
        min_length=1,
        max_length=64,
        # An LO value: no backslash, no control characters (PostgreSQL refuses NUL too).
        pattern=r"^[^\\\x00-\x1f\x7f]+$",
        description="InstitutionalDepartmentName it reads.",
    )


class GroupRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)
    id: uuid.UUID
    name: str
    department: str
