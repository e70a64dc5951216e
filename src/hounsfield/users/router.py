"""HTTP: /api/users, /api/roles, /api/permissions (administration of accounts)."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, Query, status

from hounsfield.auth import service as auth_service
from hounsfield.auth.deps import requires
from hounsfield.config import get_settings
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.kv import StoreUnavailable, get_store
from hounsfield.schemas import Page
from hounsfield.users import service
from hounsfield.users.models import Role, User
from hounsfield.users.permissions import DESCRIPTIONS, Permission
from hounsfield.users.schemas import (
    GroupCreate,
    GroupRead,
    PermissionRead,
    RoleCreate,
    RoleRead,
    RoleUpdate,
    UserCreate,
    UserRead,
    UserUpdate,
)

router = APIRouter(prefix="/api", tags=["users"])

UserReader = Annotated[User, requires(Permission.user_read)]
UserManager = Annotated[User, requires(Permission.user_manage)]


def _read_user(user: User) -> UserRead:
    """The account with its lockout state (kept in the shared store, not the database)."""
    read = UserRead.model_validate(user)
    try:
        read.locked = auth_service.is_locked(get_store(), user.username)
    except StoreUnavailable:  # unknown: shown as not locked; the login still fails closed
        read.locked = False
    return read


def _role(role: Role) -> RoleRead:
    return RoleRead(
        id=role.id,
        name=role.name,
        description=role.description,
        builtin=role.builtin,
        permissions=sorted(role.permissions),
    )


@router.get("/users")
def list_users(
    _user: UserReader,
    session: SessionDep,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[UserRead]:
    users, total = service.list_users(session, limit, offset)
    return Page(items=[_read_user(u) for u in users], total=total)


@router.post("/users", status_code=status.HTTP_201_CREATED)
def create_user(body: UserCreate, user: UserManager, session: WriteSessionDep) -> UserRead:
    return _read_user(service.create_user(session, get_settings(), user, body))


@router.get("/users/{user_id}")
def get_user(user_id: uuid.UUID, _user: UserReader, session: SessionDep) -> UserRead:
    return _read_user(service.get_user(session, user_id))


@router.patch("/users/{user_id}")
def update_user(
    user_id: uuid.UUID, body: UserUpdate, user: UserManager, session: WriteSessionDep
) -> UserRead:
    updated = service.update_user(session, get_settings(), user, user_id, body)
    return _read_user(updated)


@router.post("/users/{user_id}/unlock")
def unlock_user(user_id: uuid.UUID, user: UserManager, session: WriteSessionDep) -> UserRead:
    """Lift a lockout after failed logins now, instead of when it runs out."""
    return _read_user(service.unlock_user(session, get_store(), user, user_id))


@router.get("/roles")
def list_roles(_user: UserReader, session: SessionDep) -> list[RoleRead]:
    return [_role(r) for r in service.list_roles(session)]


@router.post("/roles", status_code=status.HTTP_201_CREATED)
def create_role(body: RoleCreate, user: UserManager, session: WriteSessionDep) -> RoleRead:
    return _role(service.create_role(session, user, body))


@router.patch("/roles/{role_id}")
def update_role(
    role_id: uuid.UUID, body: RoleUpdate, user: UserManager, session: WriteSessionDep
) -> RoleRead:
    return _role(service.update_role(session, user, role_id, body))


@router.delete("/roles/{role_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_role(role_id: uuid.UUID, user: UserManager, session: WriteSessionDep) -> None:
    service.delete_role(session, user, role_id)


@router.get("/permissions")
def list_permissions(_user: UserReader) -> list[PermissionRead]:
    """The permission catalogue, for building custom roles."""
    return [PermissionRead(name=p.value, description=DESCRIPTIONS[p]) for p in Permission]


@router.get("/groups")
def list_groups(_user: UserReader, session: SessionDep) -> list[GroupRead]:
    """Groups (departments) that scope what their members read."""
    return [GroupRead.model_validate(g) for g in service.list_groups(session)]


@router.post("/groups", status_code=status.HTTP_201_CREATED)
def create_group(body: GroupCreate, user: UserManager, session: WriteSessionDep) -> GroupRead:
    return GroupRead.model_validate(service.create_group(session, user, body))
