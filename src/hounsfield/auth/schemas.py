from __future__ import annotations

import uuid
from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field


class LoginRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=1024)


class RefreshRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh_token: str | None = Field(None, max_length=256)


class TokenResponse(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_in: int = Field(description="Seconds until the access token expires.")
    refresh_token: str = Field(description="Also set as the httpOnly cookie hf_refresh.")
    refresh_expires_in: int


class Me(BaseModel):
    id: uuid.UUID
    username: str
    display_name: str
    roles: list[str]
    permissions: list[str]
    demo: bool
    must_change_password: bool = Field(
        False, description="The password was set by an administrator: change it first."
    )


class PasswordChange(BaseModel):
    model_config = ConfigDict(extra="forbid")
    current_password: str = Field(min_length=1, max_length=1024)
    new_password: str = Field(min_length=1, max_length=1024)


class ApiKeyCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=2, max_length=48, pattern=r"^[a-z0-9][a-z0-9_.-]*$")
    role: str = Field(min_length=2, max_length=64)
    expires_in_days: int = Field(90, ge=1, le=365)


class ApiKeyRead(BaseModel):
    id: uuid.UUID
    name: str
    prefix: str
    role: str
    username: str = Field(description="The service account that audit events name.")
    created_by: str
    created_at: datetime
    expires_at: datetime
    revoked_at: datetime | None
    last_used_at: datetime | None


class ApiKeyCreated(ApiKeyRead):
    key: str = Field(description="Shown once: send it as `Authorization: Bearer <key>`.")


class BreakGlassClaim(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(
        min_length=10,
        max_length=500,
        pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$",  # no NUL: PostgreSQL text refuses it
        description="Why, for the audit trail.",
    )
    minutes: int = Field(60, ge=1, le=240, description="How long the emergency access lasts.")


class BreakGlassRead(BaseModel):
    reason: str
    started_at: datetime
    expires_at: datetime
