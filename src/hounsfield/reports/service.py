"""Reports: drafts and their versions, the review workflow and the signature.

draft → preliminary (submitted) → final (approved, signed) → corrected | appended (amended,
with a reason, signed again). A signed report is never edited in place: an amendment is a
new signed version. Every step is audited and the study's worklist status follows.
"""

from __future__ import annotations

import difflib
import uuid
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.auth import scope
from hounsfield.config import get_settings
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound, PermissionDenied
from hounsfield.notifications import emitters
from hounsfield.reports import dicom_export, metrics, peer_review, signing
from hounsfield.reports.models import (
    SIGNED,
    Report,
    ReportStatus,
    ReportTemplate,
    ReportVersion,
)
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.studies.models import Study
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission
from hounsfield.worklist import service as worklist
from hounsfield.worklist.models import ReadStatus

SECTIONS = ("findings", "impression", "recommendation")
STATUS_ZH = {
    ReportStatus.draft: "草稿",
    ReportStatus.preliminary: "初步报告",
    ReportStatus.final: "已审核",
    ReportStatus.corrected: "已更正",
    ReportStatus.appended: "已补充",
    ReportStatus.cancelled: "已作废",
}


class ReportNotFound(NotFound):
    """报告不存在"""

    code = "report_not_found"
    english = "Report not found"


class TemplateNotFound(NotFound):
    """报告模板不存在"""

    code = "template_not_found"
    english = "Report template not found"


class StudyNotFound(NotFound):
    """检查不存在"""

    code = "study_not_found"
    english = "Study not found"


class VersionConflict(Conflict):
    """报告已被他人修改，请刷新后重试"""

    code = "version_conflict"
    english = "The report was changed by someone else: reload it and try again"


class InvalidTransition(Conflict):
    code = "invalid_transition"

    def __init__(self, status: ReportStatus, action: str) -> None:
        super().__init__(
            f"{STATUS_ZH[status]}状态的报告不能{ACTION_ZH[action]}",
            english=f"A report that is {status.value} cannot be {ACTION_EN[action]}",
            details={"status": status.value, "action": action},
        )


class NotEditable(Conflict):
    code = "report_not_editable"

    def __init__(self, status: ReportStatus) -> None:
        super().__init__(
            f"{STATUS_ZH[status]}状态的报告不能直接修改，请使用更正或补充",
            english=f"A report that is {status.value} cannot be edited: amend it instead",
            details={"status": status.value},
        )


class SecondReaderRequired(PermissionDenied):
    """本院要求由报告作者以外的医生审核"""

    code = "second_reader_required"
    english = "This hospital requires a doctor other than the author to approve the report"


class NotAuthor(PermissionDenied):
    """只有报告作者可以修改或提交草稿"""

    code = "not_author"
    english = "Only the report's author can edit or submit the draft"


class TemplateExists(Conflict):
    """已有同代码、同语言的报告模板"""

    code = "template_exists"
    english = "A template with this code and language exists"


ACTION_ZH = {"submit": "提交", "approve": "审核", "amend": "修订", "cancel": "作废"}
ACTION_EN = {
    "submit": "submitted",
    "approve": "approved",
    "amend": "amended",
    "cancel": "cancelled",
}
ALLOWED = {
    "submit": {ReportStatus.draft},
    "approve": {ReportStatus.draft, ReportStatus.preliminary},
    "amend": set(SIGNED),
    "cancel": {ReportStatus.draft, ReportStatus.preliminary},
}


# -- reading --------------------------------------------------------------------------------


def _reads_drafts(user: User) -> bool:
    """Nurses and others without report:write see signed reports only."""
    return Permission.report_write in user.permissions


def get(session: Session, user: User, report_id: uuid.UUID, *, lock: bool = False) -> Report:
    query = select(Report).where(Report.id == report_id)
    if lock:
        query = query.with_for_update()
    report = session.scalar(query)
    if report is None or not _visible(session, report.study_instance_uid):
        raise ReportNotFound()
    if not _reads_drafts(user) and ReportStatus(report.status) not in SIGNED:
        raise ReportNotFound()
    return report


def _visible(session: Session, study_uid: str) -> bool:
    return (
        session.scalar(
            select(Study.id).where(
                Study.study_instance_uid == study_uid, Study.deleted_at.is_(None), scope.visible()
            )
        )
        is not None
    )


def list_reports(
    session: Session,
    user: User,
    *,
    study_instance_uid: str | None = None,
    patient_id: str | None = None,
    status: ReportStatus | None = None,
    offset: int = 0,
    limit: int = 50,
) -> tuple[int, list[Report]]:
    query = (
        select(Report)
        .join(Study, Study.study_instance_uid == Report.study_instance_uid)
        .where(Study.deleted_at.is_(None), scope.visible())
    )
    if study_instance_uid:
        query = query.where(Report.study_instance_uid == study_instance_uid)
    if patient_id:
        query = query.join(DicomPatient, DicomPatient.id == Study.patient_pk).where(
            DicomPatient.patient_id == patient_id
        )
    if status:
        query = query.where(Report.status == status.value)
    if not _reads_drafts(user):
        query = query.where(Report.status.in_([s.value for s in SIGNED]))
    total = session.scalar(select(func.count()).select_from(query.subquery())) or 0
    rows = session.scalars(query.order_by(Report.created_at.desc()).offset(offset).limit(limit))
    return total, list(rows)


def user_names(session: Session, ids: Iterable[uuid.UUID | None]) -> dict[uuid.UUID, str]:
    """Display names (else the username) of the given users, in one query."""
    wanted = {i for i in ids if i is not None}
    if not wanted:
        return {}
    rows = session.execute(
        select(User.id, User.display_name, User.username).where(User.id.in_(wanted))
    )
    return {uid: name or username for uid, name, username in rows}


def _audit(session: Session, action: str, user: User, report: Report, **detail: Any) -> None:
    audit.record(
        session, action, user, resource_type="report", resource_id=str(report.id),
        detail={"study_instance_uid": report.study_instance_uid, **detail},
    )  # fmt: skip


def audit_read(session: Session, user: User, report: Report) -> None:
    audit.record_access(
        "report.read", user, resource_type="report", resource_id=str(report.id),
        detail={"study_instance_uid": report.study_instance_uid},
    )  # fmt: skip


# -- writing --------------------------------------------------------------------------------


def content_of(report: Report) -> dict[str, Any]:
    """What a version keeps and a signature covers (with the signer's fields)."""
    return {
        "report_id": str(report.id),
        "study_instance_uid": report.study_instance_uid,
        "status": report.status,
        "findings": report.findings,
        "impression": report.impression,
        "recommendation": report.recommendation,
        "addenda": report.addenda,
        "structured": report.structured,
        "key_images": report.key_images,
        "author_id": str(report.author_id),
        "approver_id": str(report.approver_id) if report.approver_id else None,
    }


def _save_version(
    session: Session, report: Report, user: User, *, reason: str = "", sign: bool = False
) -> ReportVersion:
    number = (
        session.scalar(
            select(func.max(ReportVersion.number)).where(ReportVersion.report_id == report.id)
        )
        or 0
    ) + 1
    version = ReportVersion(
        report_id=report.id, number=number, status=report.status,
        content=content_of(report), saved_by_id=user.id, reason=reason,
    )  # fmt: skip
    if sign:
        version.signed_at = utcnow().replace(microsecond=0)
        version.signature, version.key_id = signing.sign(session, _signed(version, user.id))
    session.add(version)
    return version


def _signed(version: ReportVersion, signer_id: uuid.UUID) -> dict[str, Any]:
    assert version.signed_at is not None
    return {
        **version.content,
        "version": version.number,
        "signer_id": str(signer_id),
        "signed_at": version.signed_at.isoformat(),
        "reason": version.reason,
    }


def create(session: Session, user: User, study_uid: str, template_id: uuid.UUID | None) -> Report:
    if not _visible(session, study_uid):
        scope.explain_missing(session, study_uid)
        raise StudyNotFound()
    report = Report(id=uuid.uuid4(), study_instance_uid=study_uid, author_id=user.id)
    if template_id is not None:
        template = session.get(ReportTemplate, template_id)
        if template is None:
            raise TemplateNotFound()
        report.template_id = template.id
        for section in SECTIONS:
            setattr(report, section, template.sections.get(section, ""))
    report.addenda, report.structured, report.key_images = [], {}, []
    session.add(report)
    session.flush()
    _save_version(session, report, user)
    _audit(session, "report.create", user, report)
    session.flush()
    return report


def update(
    session: Session, user: User, report_id: uuid.UUID, version: int, changes: dict[str, Any]
) -> Report:
    """Change a draft (its author) or a submitted report (an approver, before signing)."""
    report = get(session, user, report_id, lock=True)
    status = ReportStatus(report.status)
    if status is ReportStatus.draft and report.author_id != user.id:
        raise NotAuthor()
    if status is ReportStatus.preliminary and Permission.report_approve not in user.permissions:
        raise NotEditable(status)
    if status not in (ReportStatus.draft, ReportStatus.preliminary):
        raise NotEditable(status)
    if report.version != version:
        raise VersionConflict(details={"current_version": report.version})
    for key, value in changes.items():
        setattr(report, key, value)
    report.version += 1
    report.updated_at = utcnow()
    _save_version(session, report, user)
    _audit(session, "report.update", user, report, fields=sorted(changes))
    session.flush()
    return report


def _check(report: Report, action: str) -> ReportStatus:
    status = ReportStatus(report.status)
    if status not in ALLOWED[action]:
        raise InvalidTransition(status, action)
    return status


def submit(session: Session, user: User, report_id: uuid.UUID) -> Report:
    report = get(session, user, report_id, lock=True)
    _check(report, "submit")
    if report.author_id != user.id:
        raise NotAuthor()
    report.status = ReportStatus.preliminary.value
    report.submitted_at = report.updated_at = utcnow()
    report.version += 1
    _save_version(session, report, user)
    _audit(session, "report.submit", user, report)
    worklist.set_read_status(session, report.study_instance_uid, ReadStatus.preliminary, user)
    return report


def approve(session: Session, user: User, report_id: uuid.UUID) -> Report:
    """Sign the report: final. Needs report:approve (the router checks) and, with
    `require_second_reader`, a doctor other than the author."""
    report = get(session, user, report_id, lock=True)
    _check(report, "approve")
    if get_settings().reports.require_second_reader and report.author_id == user.id:
        raise SecondReaderRequired()
    report.status = ReportStatus.final.value
    report.approver_id = user.id
    report.approved_at = report.updated_at = utcnow()
    report.version += 1
    version = _save_version(session, report, user, sign=True)
    _audit(session, "report.approve", user, report, key_id=version.key_id)
    dicom_export.queue_export(session, report)
    worklist.set_read_status(session, report.study_instance_uid, ReadStatus.final, user)
    peer_review.sample_on_approval(session, report)
    emitters.report_signed(session, report, user, amended=False)
    metrics.observe_turnaround(session, report)
    return report


def amend(
    session: Session,
    user: User,
    report_id: uuid.UUID,
    *,
    kind: str,
    reason: str,
    addendum: str = "",
    changes: dict[str, Any] | None = None,
) -> Report:
    """A signed report gets an addendum (appended) or a corrected version (corrected),
    signed again; the earlier signed versions stay as they were."""
    report = get(session, user, report_id, lock=True)
    _check(report, "amend")
    if kind == "addendum":
        entry = {"text": addendum, "by": str(user.id), "at": utcnow().isoformat()}
        report.addenda = [*report.addenda, entry]
        report.status = ReportStatus.appended.value
    else:
        for key, value in (changes or {}).items():
            setattr(report, key, value)
        report.status = ReportStatus.corrected.value
    report.approver_id = user.id
    report.approved_at = report.updated_at = utcnow()
    report.version += 1
    version = _save_version(session, report, user, reason=reason, sign=True)
    _audit(session, "report.amend", user, report, kind=kind, key_id=version.key_id)
    dicom_export.queue_export(session, report)
    emitters.report_signed(session, report, user, amended=True)
    return report


def cancel(session: Session, user: User, report_id: uuid.UUID, reason: str) -> Report:
    report = get(session, user, report_id, lock=True)
    _check(report, "cancel")
    if report.author_id != user.id and Permission.report_approve not in user.permissions:
        raise NotAuthor()
    report.status = ReportStatus.cancelled.value
    report.updated_at = utcnow()
    report.version += 1
    _save_version(session, report, user, reason=reason)
    _audit(session, "report.cancel", user, report)
    return report


# -- versions and verification ------------------------------------------------------------


def versions(session: Session, report: Report) -> list[ReportVersion]:
    return list(
        session.scalars(
            select(ReportVersion)
            .where(ReportVersion.report_id == report.id)
            .order_by(ReportVersion.number)
        )
    )


def diff(older: ReportVersion, newer: ReportVersion) -> dict[str, list[str]]:
    """A unified diff per section between two versions (sections without change left out)."""
    out: dict[str, list[str]] = {}
    for section in (*SECTIONS, "addenda"):
        before = _lines(older.content.get(section))
        after = _lines(newer.content.get(section))
        if before != after:
            out[section] = list(
                difflib.unified_diff(
                    before, after, f"v{older.number}", f"v{newer.number}", lineterm=""
                )
            )
    return out


def _lines(value: Any) -> list[str]:
    if isinstance(value, list):
        return [str(item.get("text", item)) if isinstance(item, dict) else str(item)
                for item in value]  # fmt: skip
    return str(value or "").splitlines()


def verify(session: Session, report: Report) -> dict[str, Any]:
    """Check the latest signature against the report as the database holds it now: any
    change to the report row or to its signed version breaks it."""
    signed = session.scalar(
        select(ReportVersion)
        .where(ReportVersion.report_id == report.id, ReportVersion.signature.is_not(None))
        .order_by(ReportVersion.number.desc())
        .limit(1)
    )
    if signed is None or signed.signature is None or signed.key_id is None:
        return {"signed": False, "valid": False, "reason": "not_signed"}
    result = {
        "signed": True, "key_id": signed.key_id, "version": signed.number,
        "signer_id": str(signed.saved_by_id), "signed_at": signed.signed_at,
    }  # fmt: skip
    if content_of(report) != signed.content:
        return {**result, "valid": False, "reason": "report_changed_after_signing"}
    if not signing.verify(session, _signed(signed, signed.saved_by_id), signed.signature,
                          signed.key_id):  # fmt: skip
        return {**result, "valid": False, "reason": "signature_mismatch"}
    return {**result, "valid": True, "reason": None}


# -- templates ------------------------------------------------------------------------------


def list_templates(
    session: Session, modality: str | None, language: str | None
) -> list[ReportTemplate]:
    query = select(ReportTemplate).order_by(ReportTemplate.builtin.desc(), ReportTemplate.name)
    if modality:
        query = query.where(ReportTemplate.modality == modality)
    if language:
        query = query.where(ReportTemplate.language == language)
    return list(session.scalars(query))


def create_template(session: Session, user: User, values: dict[str, Any]) -> ReportTemplate:
    taken = select(ReportTemplate.id).where(
        ReportTemplate.code == values["code"], ReportTemplate.language == values["language"]
    )
    if session.scalar(taken) is not None:
        raise TemplateExists(details={"code": values["code"], "language": values["language"]})
    template = ReportTemplate(id=uuid.uuid4(), builtin=False, **values)
    session.add(template)
    session.flush()
    audit.record(session, "report_template.create", user, resource_type="report_template",
                 resource_id=str(template.id))  # fmt: skip
    return template
