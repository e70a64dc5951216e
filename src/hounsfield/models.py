"""Every domain's tables, imported in one place for Alembic and the test fixtures."""

from hounsfield.ai.models import AiFinding, AiModel, AiModelVersion, AiRun
from hounsfield.audit.models import (
    AuditChainHead,
    AuditEvent,
    AuditExportCursor,
    AuditJournalSegment,
)
from hounsfield.auth.models import ApiKey, BreakGlass, RefreshToken
from hounsfield.db import Base
from hounsfield.dimse.models import Device, DimseJob
from hounsfield.hl7.models import Hl7Message
from hounsfield.notifications.models import (
    Delivery,
    Notification,
    NotificationEvent,
    Preference,
    PushSubscription,
)
from hounsfield.orders.models import Order
from hounsfield.patients.models import (
    PatientMerge,
    PatientRecord,
    PatientSearchTerm,
    Reconciliation,
    Visit,
)
from hounsfield.reports.models import (
    CriticalResult,
    PeerReview,
    Report,
    ReportPhrase,
    ReportTemplate,
    ReportVersion,
    SigningKey,
)
from hounsfield.studies.models import Instance, Patient, Series, Study
from hounsfield.users.models import Group, Role, RolePermission, User, user_groups, user_roles
from hounsfield.worker import OutboxEntry
from hounsfield.worklist.models import Reading

__all__ = [
    "AiFinding",
    "AiModel",
    "AiModelVersion",
    "AiRun",
    "ApiKey",
    "AuditChainHead",
    "AuditEvent",
    "AuditExportCursor",
    "AuditJournalSegment",
    "Base",
    "BreakGlass",
    "CriticalResult",
    "Delivery",
    "Device",
    "DimseJob",
    "Group",
    "Hl7Message",
    "Instance",
    "Notification",
    "NotificationEvent",
    "Order",
    "OutboxEntry",
    "Patient",
    "PatientMerge",
    "PatientRecord",
    "PatientSearchTerm",
    "PeerReview",
    "Preference",
    "PushSubscription",
    "Reading",
    "Reconciliation",
    "RefreshToken",
    "Report",
    "ReportPhrase",
    "ReportTemplate",
    "ReportVersion",
    "Role",
    "RolePermission",
    "Series",
    "SigningKey",
    "Study",
    "User",
    "Visit",
    "user_groups",
    "user_roles",
]
