"""HTTP: /api/studies/{study}/measurements — the viewer's saved measurements."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep
from hounsfield.measurements import service
from hounsfield.measurements.schemas import MeasurementsRead, MeasurementsSave
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/studies", tags=["measurements"])

Reader = Annotated[User, requires(Permission.image_read)]
Annotator = Annotated[User, requires(Permission.image_annotate)]
StudyUID = Annotated[str, Path(max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]


@router.get("/{study_uid}/measurements")
def get_measurements(study_uid: StudyUID, user: Reader, session: SessionDep) -> MeasurementsRead:
    """The study's saved measurements and annotations (from its measurement SR)."""
    return service.load(session, user, study_uid)


@router.put("/{study_uid}/measurements")
def save_measurements(
    study_uid: StudyUID, body: MeasurementsSave, user: Annotator
) -> MeasurementsRead:
    """Save the study's measurements as a DICOM SR (TID 1500), replacing the saved ones."""
    observer = user.display_name or user.username
    return service.save(user, observer, study_uid, body.measurements)
