"""HTTP: /api/patients — records, search, studies, visits, timeline, merge, reconciliation."""

from __future__ import annotations

import json
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Path, Query, Request, Response, status
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.auth.deps import requires
from hounsfield.auth.router import prefers_english
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.errors import PermissionDenied
from hounsfield.patients import merge, reconcile, service
from hounsfield.patients.schemas import (
    MergeRead,
    MergeRequest,
    PatientCreate,
    PatientPage,
    PatientRead,
    PatientStudies,
    PatientStudy,
    PatientUpdate,
    ReconciliationPage,
    ReconciliationRead,
    ResolveRequest,
    Sex,
    Timeline,
    TimelineItem,
    VisitCreate,
    VisitPage,
    VisitRead,
)
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/patients", tags=["patients"])

PatientReader = Annotated[User, requires(Permission.patient_read)]
PatientWriter = Annotated[User, requires(Permission.patient_write)]
PatientId = Annotated[int, Path(ge=1, le=2**63 - 1)]
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]


def _shown(session: Session, user: User, patient_id: int) -> PatientRead:
    patient = service.get_record(session, patient_id)
    flagged = bool(service.flagged_ids(session, [patient.id]))
    return service.to_read(patient, sensitive=service.can_read_sensitive(user), flagged=flagged)


def _require_write(request: Request, user: User) -> None:
    """patient:write, checked inside a route that needs it for one of its options."""
    permission = Permission.patient_write.value
    if permission not in user.permissions:
        audit.record_now(
            "access.denied", user, outcome=audit.Outcome.minor_failure,
            detail={"permission": permission, "path": request.url.path},
        )  # fmt: skip
        raise PermissionDenied(
            details={"permission": permission},
            english=f"This needs the permission {permission}.",
        )


@router.get("")
def list_patients(
    request: Request,
    user: PatientReader,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(
            max_length=64,
            description="MRN, name (汉字, pinyin, initials, Latin), national ID or phone (exact)",
        ),
    ] = None,
    sex: Sex | None = None,
    birth_date: date | None = None,
    sort: service.SortKey = "name",
    deleted: Annotated[
        bool,
        Query(
            description="Soft-deleted records instead, the last deleted first, `q` matching "
            "the MRN's beginning (needs patient:write: they are listed to be restored)"
        ),
    ] = False,
    limit: Limit = 50,
    offset: Offset = 0,
) -> PatientPage:
    """Search patients: sorted, paged, with the total count (a lower bound past 5,000
    matches: `total_exact` false)."""
    filters = service.PatientFilters(q=q, sex=sex, birth_date=birth_date)
    if deleted:
        _require_write(request, user)
        items, total = service.list_deleted(session, user, filters, limit=limit, offset=offset)
        return PatientPage(total=total.count, total_exact=total.exact, items=items)
    items, total = service.list_patients(
        session, user, filters, sort=sort, limit=limit, offset=offset
    )
    return PatientPage(total=total.count, total_exact=total.exact, items=items)


@router.post("", status_code=status.HTTP_201_CREATED)
def create_patient(
    body: PatientCreate, request: Request, user: PatientWriter, session: WriteSessionDep
) -> PatientRead:
    """Register a patient; the MRN is generated when none is given."""
    patient = service.create_patient(session, user, body, english=prefers_english(request))
    return service.to_read(patient, sensitive=service.can_read_sensitive(user), flagged=False)


@router.post("/merge")
def merge_patients(body: MergeRequest, user: PatientWriter, session: WriteSessionDep) -> MergeRead:
    """Move everything of the source record to the target; the source is hidden."""
    record = merge.merge(session, user, body.source_id, body.target_id)
    return MergeRead(merge_id=record.id, target_id=record.target_id)


@router.post("/merges/{merge_id}/undo")
def undo_merge(
    merge_id: Annotated[str, Path(max_length=32, pattern=r"^[0-9a-f]+$")],
    user: PatientWriter,
    session: WriteSessionDep,
) -> MergeRead:
    """Undo a merge: exactly what it moved goes back, and the source returns."""
    record = merge.undo(session, user, merge_id)
    return MergeRead(merge_id=record.id, target_id=record.target_id)


@router.get("/reconciliation")
def list_reconciliation(
    user: PatientReader, session: SessionDep, limit: Limit = 50, offset: Offset = 0
) -> ReconciliationPage:
    """Studies whose demographics differ from their patient record, newest first."""
    rows, total = reconcile.list_open(session, user, limit=limit, offset=offset)
    items = [
        ReconciliationRead(
            id=r.id,
            patient_id=r.patient_id,
            study_instance_uid=r.study_instance_uid,
            differences=json.loads(r.differences),
            created_at=r.created_at,
        )
        for r in rows
    ]
    return ReconciliationPage(total=total, items=items)


@router.post("/reconciliation/{item_id}/resolve")
def resolve_reconciliation(
    item_id: PatientId,
    body: ResolveRequest,
    request: Request,
    user: PatientWriter,
    session: WriteSessionDep,
) -> PatientRead:
    """Keep the record as it is, or take the study's values; returns the record."""
    item = reconcile.resolve(session, user, item_id, body.action, english=prefers_english(request))
    return _shown(session, user, item.patient_id)


@router.get("/{patient_id}")
def get_patient(patient_id: PatientId, user: PatientReader, session: SessionDep) -> PatientRead:
    return service.read_patient(session, user, patient_id)


@router.patch("/{patient_id}")
def update_patient(
    patient_id: PatientId,
    body: PatientUpdate,
    request: Request,
    user: PatientWriter,
    session: WriteSessionDep,
) -> PatientRead:
    """Change the fields sent; `version` must be the one read (else 409 version_conflict)."""
    english = prefers_english(request)
    patient = service.update_patient(session, user, patient_id, body, english=english)
    return _shown(session, user, patient.id)


@router.delete("/{patient_id}", status_code=status.HTTP_204_NO_CONTENT)
def delete_patient(
    patient_id: PatientId, user: PatientWriter, session: WriteSessionDep
) -> Response:
    """Soft delete: the record is hidden; its studies stay in the archive."""
    service.delete_patient(session, user, patient_id)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.post("/{patient_id}/restore")
def restore_patient(
    patient_id: PatientId, user: PatientWriter, session: WriteSessionDep
) -> PatientRead:
    """Undo a soft delete (a merged record comes back by undoing its merge: 409)."""
    patient = service.restore_patient(session, user, patient_id)
    return _shown(session, user, patient.id)


@router.get("/{patient_id}/studies")
def list_studies(patient_id: PatientId, user: PatientReader, session: SessionDep) -> PatientStudies:
    """Every study of the patient, newest first (the viewer's priors)."""
    studies = service.list_studies(session, user, patient_id)
    items = [
        PatientStudy(
            study_instance_uid=s.study_instance_uid,
            study_date=s.study_date,
            modalities=s.modalities,
            description=s.study_description,
            accession_number=s.accession_number,
            number_of_instances=s.number_of_instances,
        )
        for s in studies
    ]
    return PatientStudies(total=len(items), items=items)


@router.get("/{patient_id}/timeline")
def get_timeline(patient_id: PatientId, user: PatientReader, session: SessionDep) -> Timeline:
    """Visits, studies (and orders and reports once those domains register), newest first."""
    entries = service.timeline(session, user, patient_id)
    items = [TimelineItem(kind=e.kind, at=e.at, title=e.title, ref=e.ref) for e in entries]
    return Timeline(items=items)


@router.get("/{patient_id}/visits")
def list_visits(patient_id: PatientId, user: PatientReader, session: SessionDep) -> VisitPage:
    visits = service.list_visits(session, user, patient_id)
    return VisitPage(total=len(visits), items=[VisitRead.model_validate(v) for v in visits])


@router.post("/{patient_id}/visits", status_code=status.HTTP_201_CREATED)
def create_visit(
    patient_id: PatientId,
    body: VisitCreate,
    request: Request,
    user: PatientWriter,
    session: WriteSessionDep,
) -> VisitRead:
    visit = service.create_visit(session, user, patient_id, body, english=prefers_english(request))
    return VisitRead.model_validate(visit)
