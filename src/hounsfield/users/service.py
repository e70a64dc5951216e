"""Users and roles: creation, role assignment, custom roles, demo accounts."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth import passwords
from hounsfield.auth import service as auth_service
from hounsfield.auth.deps import forget_users
from hounsfield.config import Settings
from hounsfield.db import after_commit
from hounsfield.errors import Conflict, NotFound, Unprocessable
from hounsfield.kv import KeyValueStore
from hounsfield.users.models import Group, Role, RolePermission, User, user_roles
from hounsfield.users.permissions import BUILTIN_ROLES, Permission
from hounsfield.users.schemas import GroupCreate, RoleCreate, RoleUpdate, UserCreate, UserUpdate


class UserNotFound(NotFound):
    """No such user."""

    code = "user_not_found"


class RoleNotFound(NotFound):
    """No such role."""

    code = "role_not_found"


class UnknownRoles(Unprocessable):
    """Some of the roles named do not exist."""

    code = "unknown_roles"


class DuplicateName(Conflict):
    """The name is already taken."""

    code = "duplicate_name"


class BuiltinRole(Conflict):
    """Built-in roles cannot be changed or deleted."""

    code = "builtin_role"


class LastAdmin(Conflict):
    """This is the last active administrator: the admin role cannot be removed from them."""

    code = "last_admin"


ADMIN_ROLE = "admin"


def _guard_last_admin(session: Session, user: User, data: UserUpdate) -> None:
    """Refuse to deactivate, or take the admin role from, the last active administrator.

    The admin role's row is locked first, so two such changes at once are decided one after
    the other (MariaDB/PostgreSQL; SQLite serializes writers anyway).
    """
    if not user.active or ADMIN_ROLE not in user.role_names:
        return
    if data.active is not False and (data.roles is None or ADMIN_ROLE in data.roles):
        return
    admin = session.scalar(select(Role.id).where(Role.name == ADMIN_ROLE).with_for_update())
    others = session.scalar(
        select(func.count())
        .select_from(User)
        .join(user_roles, user_roles.c.user_id == User.id)
        .where(user_roles.c.role_id == admin, User.active.is_(True), User.id != user.id)
        .where(User.service_account.is_(False))  # an API key is no administrator
    )
    if not others:
        raise LastAdmin()


def ensure_builtin_roles(session: Session) -> None:
    """Create the built-in roles, and keep their permissions in step with the catalogue."""
    existing = {r.name: r for r in session.scalars(select(Role))}
    for name, (description, permissions) in BUILTIN_ROLES.items():
        role = existing.get(name) or Role(name=name, builtin=True)
        role.description, role.builtin = description, True
        role.grants = [RolePermission(permission=p.value) for p in sorted(permissions)]
        session.add(role)
    session.flush()


def _roles_named(session: Session, names: Sequence[str]) -> list[Role]:
    roles = list(session.scalars(select(Role).where(Role.name.in_(set(names)))))
    missing = set(names) - {r.name for r in roles}
    if missing:
        raise UnknownRoles(details={"roles": sorted(missing)})
    return roles


class UnknownGroups(Unprocessable):
    """Some of the groups named do not exist."""

    code = "unknown_groups"


def _groups_named(session: Session, names: Sequence[str]) -> list[Group]:
    groups = list(session.scalars(select(Group).where(Group.name.in_(set(names)))))
    missing = set(names) - {g.name for g in groups}
    if missing:
        raise UnknownGroups(details={"groups": sorted(missing)})
    return groups


def list_groups(session: Session) -> list[Group]:
    return list(session.scalars(select(Group).order_by(Group.name)))


def create_group(session: Session, actor: Actor, data: GroupCreate) -> Group:
    """A group reading the studies of one department; audited."""
    if session.scalar(select(Group.id).where(Group.name == data.name)):
        raise DuplicateName(f"The group {data.name!r} exists.")
    group = Group(name=data.name, department=data.department.strip())
    session.add(group)
    session.flush()
    audit.record(
        session, "group.create", actor, resource_type="group", resource_id=str(group.id),
        detail={"name": group.name, "department": group.department},
    )  # fmt: skip
    return group


def get_user(session: Session, user_id: uuid.UUID) -> User:
    user = session.get(User, user_id)
    if user is None:
        raise UserNotFound()
    return user


def list_users(session: Session, limit: int, offset: int) -> tuple[list[User], int]:
    total = session.scalar(select(func.count()).select_from(User)) or 0
    users = session.scalars(select(User).order_by(User.username).limit(limit).offset(offset))
    return list(users), total


def create_user(
    session: Session,
    settings: Settings,
    actor: Actor | None,
    data: UserCreate,
    *,
    demo: bool = False,
) -> User:
    """Create an account after checking the password policy; audited."""
    if session.scalar(select(User.id).where(User.username == data.username)):
        raise DuplicateName(f"The username {data.username!r} is taken.")
    problems = passwords.policy_problems(
        data.password, data.username, settings.auth.password_min_length
    )
    if problems:
        raise auth_service.PasswordRejected(details={"problems": problems})
    user = User(
        username=data.username,
        display_name=data.display_name,
        password_hash=passwords.hash_password(data.password),
        roles=_roles_named(session, data.roles),
        groups=_groups_named(session, data.groups),
        demo=demo,
        # An administrator chose this password: the user replaces it at first login.
        must_change_password=actor is not None,
    )
    session.add(user)
    session.flush()
    audit.record(
        session, "user.create", actor, resource_type="user", resource_id=str(user.id),
        detail={"username": user.username, "roles": user.role_names, "groups": user.group_names},
    )  # fmt: skip
    return user


def _forget_after_commit(session: Session) -> None:
    after_commit(session, forget_users)


def update_user(
    session: Session, settings: Settings, actor: Actor, user_id: uuid.UUID, data: UserUpdate
) -> User:
    """Change a user's name, state, roles or password; audited."""
    user = get_user(session, user_id)
    _guard_last_admin(session, user, data)
    _forget_after_commit(session)
    changed: dict[str, object] = {}
    if data.display_name is not None:
        user.display_name = changed["display_name"] = data.display_name
    if data.active is not None:
        user.active = changed["active"] = data.active
        if not data.active:
            auth_service.revoke_all(session, user.id)
    if data.roles is not None:
        user.roles = _roles_named(session, data.roles)
        changed["roles"] = user.role_names
    if data.groups is not None:
        user.groups = _groups_named(session, data.groups)
        changed["groups"] = user.group_names
    if data.password is not None:
        auth_service.set_password(session, settings, user, data.password)
        # A reset by someone else: the user must pick their own at the next login.
        user.must_change_password = getattr(actor, "id", None) != user.id
        # bandit B105: an audit detail saying the password was reset, not a password.
        changed["password"] = "reset"  # nosec
    audit.record(
        session, "user.update", actor, resource_type="user", resource_id=str(user.id),
        detail=changed,
    )  # fmt: skip
    return user


def unlock_user(session: Session, store: KeyValueStore, actor: Actor, user_id: uuid.UUID) -> User:
    """Lift a lockout after failed logins (and its failure count) at once; audited."""
    user = get_user(session, user_id)
    was_locked = auth_service.unlock(store, user.username)
    audit.record(
        session, "user.unlock", actor, resource_type="user", resource_id=str(user.id),
        detail={"username": user.username, "was_locked": was_locked},
    )  # fmt: skip
    return user


def get_role(session: Session, role_id: uuid.UUID) -> Role:
    role = session.get(Role, role_id)
    if role is None:
        raise RoleNotFound()
    return role


def list_roles(session: Session) -> list[Role]:
    return list(session.scalars(select(Role).order_by(Role.name)))


def create_role(session: Session, actor: Actor, data: RoleCreate) -> Role:
    if session.scalar(select(Role.id).where(Role.name == data.name)):
        raise DuplicateName(f"The role {data.name!r} exists.")
    role = Role(
        name=data.name,
        description=data.description,
        grants=[RolePermission(permission=p.value) for p in sorted(set(data.permissions))],
    )
    session.add(role)
    session.flush()
    audit.record(
        session, "role.create", actor, resource_type="role", resource_id=str(role.id),
        detail={"name": role.name, "permissions": sorted(role.permissions)},
    )  # fmt: skip
    return role


def update_role(session: Session, actor: Actor, role_id: uuid.UUID, data: RoleUpdate) -> Role:
    role = get_role(session, role_id)
    if role.builtin:
        raise BuiltinRole()
    _forget_after_commit(session)
    if data.description is not None:
        role.description = data.description
    if data.permissions is not None:
        role.grants = [RolePermission(permission=p.value) for p in sorted(set(data.permissions))]
    session.flush()
    audit.record(
        session, "role.update", actor, resource_type="role", resource_id=str(role.id),
        detail={"permissions": sorted(role.permissions)},
    )  # fmt: skip
    return role


def delete_role(session: Session, actor: Actor, role_id: uuid.UUID) -> None:
    role = get_role(session, role_id)
    if role.builtin:
        raise BuiltinRole()
    _forget_after_commit(session)
    audit.record(
        session, "role.delete", actor, resource_type="role", resource_id=str(role.id),
        detail={"name": role.name},
    )  # fmt: skip
    session.delete(role)


DEMO_ROLES = ("admin", "doctor", "technician", "nurse")


def create_demo_accounts(session: Session, settings: Settings) -> dict[str, str]:
    """One demo account per built-in role, with a fresh random password each. Returns them."""
    ensure_builtin_roles(session)
    created = {}
    for role in DEMO_ROLES:
        username = f"demo-{role}"
        if session.scalar(select(User.id).where(User.username == username)):
            continue
        password = secrets.token_urlsafe(12)
        data = UserCreate(
            username=username, password=password, display_name=f"Demo {role}", roles=[role]
        )
        create_user(session, settings, None, data, demo=True)
        created[username] = password
    return created


def demo_accounts_exist(session: Session) -> bool:
    return bool(session.scalar(select(func.count()).where(User.demo.is_(True))))


def permission_catalogue() -> list[Permission]:
    return list(Permission)
