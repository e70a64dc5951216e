"""HTTP: /api/studies — the worklist, study detail and deletion, for the web UI."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query, Response, status

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.schemas import Page
from hounsfield.studies import service
from hounsfield.studies.models import Patient, Series, Study, public_issuer
from hounsfield.studies.schemas import SeriesSummary, StudyDetail, StudySummary
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/studies", tags=["studies"])

ImageReader = Annotated[User, requires(Permission.image_read)]
ImageDeleter = Annotated[User, requires(Permission.image_delete)]


def _summary(study: Study, patient: Patient) -> dict[str, object]:
    return {
        "study_instance_uid": study.study_instance_uid,
        "patient_id": patient.patient_id,
        "issuer_of_patient_id": public_issuer(patient.issuer_of_patient_id),
        "patient_name": study.patient_name or patient.patient_name,
        "patient_birth_date": study.patient_birth_date,  # as this study's instances say
        "patient_sex": study.patient_sex,
        "accession_number": study.accession_number,
        "study_date": study.study_date,
        "study_time": study.study_time,
        "study_description": study.study_description,
        "referring_physician_name": study.referring_physician_name,
        "modalities": study.modalities,
        "number_of_series": study.number_of_series,
        "number_of_instances": study.number_of_instances,
        "received_at": study.received_at,
    }


def _series(series: Series) -> SeriesSummary:
    return SeriesSummary(
        series_instance_uid=series.series_instance_uid,
        modality=series.modality,
        series_number=series.series_number,
        series_description=series.series_description,
        body_part_examined=series.body_part_examined,
        number_of_instances=series.number_of_instances,
    )


@router.get("")
def list_studies(
    user: ImageReader,
    session: SessionDep,
    q: Annotated[
        str | None,
        Query(max_length=128, description="Patient name, patient ID or accession number."),
    ] = None,
    patient_id: Annotated[str | None, Query(max_length=64)] = None,
    patient_name: Annotated[str | None, Query(max_length=128)] = None,
    accession_number: Annotated[str | None, Query(max_length=64)] = None,
    modality: Annotated[str | None, Query(max_length=64, description="e.g. CT or CT\\MR")] = None,
    study_date_from: date | None = None,
    study_date_to: date | None = None,
    sort: service.SortKey = "-study_date",
    limit: Annotated[int, Query(ge=1, le=500)] = 50,
    offset: Annotated[int, Query(ge=0, le=2**31 - 1)] = 0,
) -> Page[StudySummary]:
    """Search the worklist: filters, sorting, paging and the total count."""
    filters = service.StudyFilters(
        q=q,
        patient_id=patient_id,
        patient_name=patient_name,
        accession_number=accession_number,
        modality=modality,
        study_date_from=study_date_from,
        study_date_to=study_date_to,
    )
    rows, total = service.list_studies(
        session, user, filters, sort=sort, limit=limit, offset=offset
    )
    items = [StudySummary.model_validate(_summary(s, p)) for s, p in rows]
    return Page(items=items, total=total)


@router.get("/{study_uid}")
def get_study(study_uid: str, user: ImageReader, session: SessionDep) -> StudyDetail:
    """One study with its series."""
    study, series = service.get_study(session, user, study_uid)
    return StudyDetail.model_validate(
        {**_summary(study, study.patient), "series": [_series(s) for s in series]}
    )


@router.delete("/{study_uid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_study(study_uid: str, user: ImageDeleter, session: WriteSessionDep) -> Response:
    """Delete a study (soft: hidden at once, purged later)."""
    service.delete_study(session, user, study_uid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete("/{study_uid}/series/{series_uid}", status_code=status.HTTP_204_NO_CONTENT)
def delete_series(
    study_uid: str, series_uid: str, user: ImageDeleter, session: WriteSessionDep
) -> Response:
    """Delete one series of a study."""
    service.delete_series(session, user, study_uid, series_uid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)


@router.delete(
    "/{study_uid}/series/{series_uid}/instances/{sop_uid}",
    status_code=status.HTTP_204_NO_CONTENT,
)
def delete_instance(
    study_uid: str, series_uid: str, sop_uid: str, user: ImageDeleter, session: WriteSessionDep
) -> Response:
    """Delete one instance."""
    service.delete_instance(session, user, study_uid, series_uid, sop_uid)
    return Response(status_code=status.HTTP_204_NO_CONTENT)
