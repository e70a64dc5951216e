"""Every domain's tables, imported in one place for Alembic and the test fixtures."""

from hounsfield.audit.models import (
    AuditChainHead,
    AuditEvent,
    AuditExportCursor,
    AuditJournalSegment,
)
from hounsfield.auth.models import ApiKey, RefreshToken
from hounsfield.db import Base
from hounsfield.dimse.models import Device, DimseJob
from hounsfield.studies.models import Instance, Patient, Series, Study
from hounsfield.users.models import Role, RolePermission, User, user_roles
from hounsfield.worker import OutboxEntry

__all__ = [
    "ApiKey",
    "AuditChainHead",
    "AuditEvent",
    "AuditExportCursor",
    "AuditJournalSegment",
    "Base",
    "Device",
    "DimseJob",
    "Instance",
    "OutboxEntry",
    "Patient",
    "RefreshToken",
    "Role",
    "RolePermission",
    "Series",
    "Study",
    "User",
    "user_roles",
]
