"""Every domain's tables, imported in one place for Alembic and the test fixtures."""

from hounsfield.audit.models import AuditChainHead, AuditEvent
from hounsfield.auth.models import RefreshToken
from hounsfield.db import Base
from hounsfield.users.models import Role, RolePermission, User, user_roles
from hounsfield.worker import OutboxEntry

__all__ = [
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "OutboxEntry",
    "RefreshToken",
    "Role",
    "RolePermission",
    "User",
    "user_roles",
]
