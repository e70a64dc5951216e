"""The one catalogue of permissions (`resource:action`) and the built-in roles."""

from __future__ import annotations

from enum import StrEnum


class Permission(StrEnum):
    patient_read = "patient:read"
    patient_write = "patient:write"
    patient_read_sensitive = "patient:read_sensitive"
    image_read = "image:read"
    image_retrieve = "image:retrieve"
    image_create = "image:create"
    image_delete = "image:delete"
    image_export = "image:export"
    image_send = "image:send"
    image_annotate = "image:annotate"
    order_read = "order:read"
    order_write = "order:write"
    worklist_assign = "worklist:assign"
    statistics_read = "statistics:read"
    report_read = "report:read"
    report_write = "report:write"
    report_approve = "report:approve"
    report_template = "report:template"
    report_qc = "report:qc"
    ai_read = "ai:read"
    ai_run = "ai:run"
    ai_manage = "ai:manage"
    ai_review = "ai:review"
    device_read = "device:read"
    device_manage = "device:manage"
    user_read = "user:read"
    user_manage = "user:manage"
    audit_read = "audit:read"
    hl7_read = "hl7:read"
    system_admin = "system:admin"


DESCRIPTIONS: dict[Permission, str] = {
    Permission.patient_read: "View patients, visits and their demographics",
    Permission.patient_write: "Register and edit patients and visits",
    Permission.patient_read_sensitive: "See patients' national ID and phone unmasked",
    Permission.image_read: "Search and view studies and images",
    Permission.image_retrieve: "Retrieve whole DICOM objects and bulk data (WADO-RS/URI)",
    Permission.image_create: "Store images (upload, STOW-RS, import)",
    Permission.image_delete: "Delete studies, series and instances",
    Permission.image_export: "Export studies (incl. de-identified exports)",
    Permission.image_send: "Send studies to registered DICOM devices (C-STORE)",
    Permission.image_annotate: "Save measurements and annotations on studies (as DICOM SR)",
    Permission.order_read: "View imaging orders and the worklist",
    Permission.order_write: "Schedule and edit imaging orders",
    Permission.worklist_assign: "Assign worklist studies to readers and release others' claims",
    Permission.statistics_read: "View department statistics (volumes, turnaround, workload)",
    Permission.report_read: "Read reports",
    Permission.report_write: "Write and submit reports",
    Permission.report_approve: "Approve (sign) and amend reports",
    Permission.report_template: "Create and edit report templates and shared phrases",
    Permission.report_qc: "Review peer-review (RADPEER) results",
    Permission.ai_read: "View AI results",
    Permission.ai_run: "Run AI models and review their results",
    Permission.ai_manage: "Register and configure AI models",
    Permission.ai_review: "Accept, reject or edit AI findings",
    Permission.device_read: "View DICOM devices",
    Permission.device_manage: "Register and configure DICOM devices",
    Permission.user_read: "View users and roles",
    Permission.user_manage: "Create and edit users and roles",
    Permission.audit_read: "Read the audit trail",
    Permission.hl7_read: "Review the HL7 messages received from the HIS (their text is audited)",
    Permission.system_admin: "Administer the system (settings, backups)",
}

P = Permission

DOCTOR = frozenset(
    {
        P.patient_read, P.image_read, P.image_retrieve, P.image_export, P.image_send,
        P.image_annotate, P.order_read,
        P.report_read, P.report_write, P.report_approve, P.report_template,
        P.ai_read, P.ai_run, P.ai_review, P.device_read,
        P.worklist_assign, P.statistics_read,
    }
)  # fmt: skip

BUILTIN_ROLES: dict[str, tuple[str, frozenset[Permission]]] = {
    "admin": ("Administrator: every permission", frozenset(Permission)),
    # patient:read_sensitive (national ID and phone in full) only where the work needs it:
    # nurses register patients and call them, so they check and see both; doctors and
    # technicians identify a patient by name, MRN and birth date and see them masked.
    "doctor": ("Radiologist / physician: reads images, reports, uses AI", DOCTOR),
    # The head of department also sees the peer-review (RADPEER) results; the doctors
    # scored there never do.
    "department_head": (
        "Head of department: a doctor who also reviews peer-review (RADPEER) results",
        frozenset({*DOCTOR, P.report_qc}),
    ),
    # Technicians route images (to a workstation, a printer, another PACS): they send to
    # devices, but export (copies leaving the archive, de-identified or not) stays with doctors.
    "technician": (
        "Radiographer: acquires and manages images and orders",
        frozenset(
            {
                P.patient_read, P.patient_write, P.image_read, P.image_retrieve, P.image_create,
                P.image_send,
                P.order_read, P.order_write, P.ai_read, P.device_read,
            }
        ),
    ),
    "nurse": (
        "Nurse: registers patients and visits, views images and final reports",
        frozenset(
            {
                P.patient_read, P.patient_write, P.patient_read_sensitive, P.image_read,
                P.order_read, P.report_read,
            }
        ),
    ),
}  # fmt: skip
