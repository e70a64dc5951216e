"""HTTP: /api/reports and /api/report-templates."""

from __future__ import annotations

import uuid
from dataclasses import asdict
from typing import Annotated

from fastapi import APIRouter, Query, Request, Response, status

from hounsfield.auth.deps import requires
from hounsfield.config import get_settings
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.ingest.outcome import language
from hounsfield.reports import fhir, pdf, service
from hounsfield.reports import patients as _timeline  # noqa: F401  (registers the provider)
from hounsfield.reports.models import FHIR_STATUS, Report, ReportStatus
from hounsfield.reports.schemas import (
    AmendRequest,
    CancelRequest,
    PrintFacts,
    ReportCreate,
    ReportPage,
    ReportRead,
    ReportUpdate,
    TemplateCreate,
    TemplateRead,
    VerifyRead,
    VersionRead,
    VersionsRead,
)
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/reports", tags=["reports"])
templates_router = APIRouter(prefix="/api/report-templates", tags=["reports"])

Reader = Annotated[User, requires(Permission.report_read)]
Writer = Annotated[User, requires(Permission.report_write)]
Approver = Annotated[User, requires(Permission.report_approve)]
TemplateEditor = Annotated[User, requires(Permission.report_template)]
UID = Annotated[str | None, Query(max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
PatientID = Annotated[str | None, Query(max_length=64, pattern=r"^[^\x00-\x1f\\]*$")]


def read(report: Report) -> ReportRead:
    return ReportRead.model_validate(
        {**{c: getattr(report, c) for c in ReportRead.model_fields if hasattr(report, c)},
         "fhir_status": FHIR_STATUS[ReportStatus(report.status)]}
    )  # fmt: skip


@router.get("")
def list_reports(
    user: Reader,
    session: SessionDep,
    study_instance_uid: UID = None,
    patient_id: PatientID = None,
    report_status: Annotated[ReportStatus | None, Query(alias="status")] = None,
    offset: Annotated[int, Query(ge=0, le=1_000_000)] = 0,
    limit: Annotated[int, Query(ge=1, le=200)] = 50,
) -> ReportPage:
    """Reports by study, patient (DICOM PatientID) or status, newest first."""
    total, rows = service.list_reports(
        session, user, study_instance_uid=study_instance_uid, patient_id=patient_id,
        status=report_status, offset=offset, limit=limit,
    )  # fmt: skip
    return ReportPage(total=total, items=[read(r) for r in rows])


@router.post("", status_code=status.HTTP_201_CREATED)
def create_report(body: ReportCreate, user: Writer, session: WriteSessionDep) -> ReportRead:
    """A new draft for a study, its sections filled from the template if one is given."""
    return read(service.create(session, user, body.study_instance_uid, body.template_id))


@router.get("/{report_id}")
def get_report(report_id: uuid.UUID, user: Reader, session: SessionDep) -> ReportRead:
    report = service.get(session, user, report_id)
    service.audit_read(session, user, report)
    return read(report)


@router.patch("/{report_id}")
def update_report(
    report_id: uuid.UUID, body: ReportUpdate, user: Writer, session: WriteSessionDep
) -> ReportRead:
    """Save a draft (autosave); `version` must be the one read (409 otherwise)."""
    return read(service.update(session, user, report_id, body.version, body.changes()))


@router.post("/{report_id}/submit")
def submit_report(report_id: uuid.UUID, user: Writer, session: WriteSessionDep) -> ReportRead:
    """The author submits the draft: a preliminary report."""
    return read(service.submit(session, user, report_id))


@router.post("/{report_id}/approve")
def approve_report(report_id: uuid.UUID, user: Approver, session: WriteSessionDep) -> ReportRead:
    """Approve and sign: final."""
    return read(service.approve(session, user, report_id))


@router.post("/{report_id}/amend")
def amend_report(
    report_id: uuid.UUID, body: AmendRequest, user: Approver, session: WriteSessionDep
) -> ReportRead:
    """An addendum or a corrected version of a signed report, with a reason; signed again."""
    report = service.amend(
        session, user, report_id, kind=body.kind, reason=body.reason,
        addendum=body.addendum, changes=body.changes(),
    )  # fmt: skip
    return read(report)


@router.post("/{report_id}/cancel")
def cancel_report(
    report_id: uuid.UUID, body: CancelRequest, user: Writer, session: WriteSessionDep
) -> ReportRead:
    return read(service.cancel(session, user, report_id, body.reason))


@router.get("/{report_id}/versions")
def report_versions(
    report_id: uuid.UUID,
    user: Reader,
    session: SessionDep,
    diff_from: Annotated[int | None, Query(ge=1, le=100_000)] = None,
    diff_to: Annotated[int | None, Query(ge=1, le=100_000)] = None,
) -> VersionsRead:
    """Every saved version; with diff_from and diff_to, a per-section diff between them."""
    report = service.get(session, user, report_id)
    service.audit_read(session, user, report)
    rows = service.versions(session, report)
    names = service.user_names(session, (v.saved_by_id for v in rows))
    items = [
        VersionRead.model_validate({**{c: getattr(v, c) for c in VersionRead.model_fields
                                       if hasattr(v, c) and c != "signed"},
                                    "signed": v.signature is not None,
                                    "saved_by_name": names.get(v.saved_by_id, "")})
        for v in rows
    ]  # fmt: skip
    by_number = {v.number: v for v in rows}
    diff = None
    if diff_from and diff_to and diff_from in by_number and diff_to in by_number:
        diff = service.diff(by_number[diff_from], by_number[diff_to])
    return VersionsRead(items=items, diff=diff)


@router.get("/{report_id}/verify")
def verify_report(report_id: uuid.UUID, user: Reader, session: SessionDep) -> VerifyRead:
    """Check the signature against the report as stored now."""
    report = service.get(session, user, report_id)
    return VerifyRead.model_validate(service.verify(session, report))


@router.get("/{report_id}/fhir")
def report_fhir(report_id: uuid.UUID, user: Reader, session: SessionDep) -> dict[str, object]:
    """The report as a FHIR R4 (R4B) DiagnosticReport."""
    report = service.get(session, user, report_id)
    service.audit_read(session, user, report)
    return fhir.diagnostic_report(session, report)


@router.get(
    "/{report_id}/pdf",
    response_class=Response,
    responses={200: {"content": {"application/pdf": {}}, "description": "The report as PDF"}},
)
def report_pdf(
    report_id: uuid.UUID, request: Request, user: Reader, session: SessionDep
) -> Response:
    """The report as a printable PDF: hospital, patient and study, sections, addenda and the
    electronic signature; labels in zh-CN, or English by Accept-Language."""
    report = service.get(session, user, report_id)
    service.audit_read(session, user, report)
    body = pdf.render(session, report, language(request.headers.get("accept-language")))
    filename = f"report-{report.id}.pdf"
    return Response(
        body, media_type="application/pdf",
        headers={"Content-Disposition": f'inline; filename="{filename}"'},
    )  # fmt: skip


@router.get("/{report_id}/print")
def report_print(
    report_id: uuid.UUID, request: Request, user: Reader, session: SessionDep
) -> PrintFacts:
    """What the print view shows around the report's text (hospital, patient, study, signer):
    the PDF's facts, in zh-CN or English by Accept-Language."""
    report = service.get(session, user, report_id)
    service.audit_read(session, user, report)
    lang = language(request.headers.get("accept-language"))
    facts = pdf.facts(session, report, lang)
    hospital = get_settings().reports.hospital_name
    return PrintFacts.model_validate({**asdict(facts), "hospital_name": hospital})


@templates_router.get("")
def list_templates(
    _user: Reader,
    session: SessionDep,
    modality: Annotated[str | None, Query(max_length=16, pattern=r"^[A-Z]*$")] = None,
    language: Annotated[str | None, Query(pattern=r"^(zh-CN|en)$")] = None,
) -> list[TemplateRead]:
    rows = service.list_templates(session, modality, language)
    return [TemplateRead.model_validate(t) for t in rows]


@templates_router.post("", status_code=status.HTTP_201_CREATED)
def create_template(
    body: TemplateCreate, user: TemplateEditor, session: WriteSessionDep
) -> TemplateRead:
    values = body.model_dump(mode="json")
    return TemplateRead.model_validate(service.create_template(session, user, values))
