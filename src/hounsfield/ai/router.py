"""HTTP: /api/ai — model registry, runs, findings review and monitoring."""

from __future__ import annotations

import uuid
from typing import Annotated

from fastapi import APIRouter, File, Form, Query, Request, UploadFile, status

from hounsfield.ai import metrics, service
from hounsfield.ai.errors import InvalidModel
from hounsfield.ai.schemas import (
    DiagnoseRequest,
    FindingRead,
    MaskRead,
    MetricsRead,
    ModelRead,
    ModelUpdate,
    ReviewRequest,
    RunCreated,
    RunRead,
)
from hounsfield.audit import service as audit
from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep, WriteSessionDep
from hounsfield.studies import refs
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/ai", tags=["ai"])

AiReader = Annotated[User, requires(Permission.ai_read)]
AiRunner = Annotated[User, requires(Permission.ai_run)]
AiManager = Annotated[User, requires(Permission.ai_manage)]
AiReviewer = Annotated[User, requires(Permission.ai_review)]

MAX_MANIFEST_CHARS = 64 * 1024


@router.get("/models")
def list_models(_user: AiReader, session: SessionDep) -> list[ModelRead]:
    """Every model with its versions; `active_version` is the one runs use."""
    return service.list_models(session)


@router.post("/models", status_code=status.HTTP_201_CREATED)
def upload_model(
    user: AiManager,
    session: WriteSessionDep,
    manifest: Annotated[str, Form(max_length=MAX_MANIFEST_CHARS)],
    file: Annotated[UploadFile | None, File()] = None,
) -> ModelRead:
    """Register a new version: a JSON manifest and (kind onnx) the ONNX file."""
    parsed = service.parse_manifest(manifest)
    data = None
    if file is not None:
        data = file.file.read(service.MAX_MODEL_BYTES + 1)
        if len(data) > service.MAX_MODEL_BYTES:
            raise InvalidModel(problem=f"larger than {service.MAX_MODEL_BYTES} bytes")
    version = service.register(session, user, parsed, data)
    return service.model_read(service.get_model(session, str(version.model_id)))


@router.get("/models/{model_id}")
def get_model(model_id: uuid.UUID, _user: AiReader, session: SessionDep) -> ModelRead:
    """One model and its versions."""
    return service.model_read(service.get_model(session, str(model_id)))


@router.patch("/models/{model_id}")
def update_model(
    model_id: uuid.UUID, body: ModelUpdate, user: AiManager, session: WriteSessionDep
) -> ModelRead:
    """Enable or disable a version, roll back (make an earlier version active), auto-run."""
    return service.model_read(service.update_model(session, user, str(model_id), body))


@router.post("/diagnose", status_code=status.HTTP_202_ACCEPTED)
def diagnose(body: DiagnoseRequest, user: AiRunner, session: WriteSessionDep) -> RunCreated:
    """Queue a run of a model (name or id) on a study, series or instance."""
    run = service.request_run(
        session, user, body.model, body.study_instance_uid,
        body.series_instance_uid, body.sop_instance_uid,
    )  # fmt: skip
    return RunCreated(run_id=run.id, status="queued")


@router.get("/runs")
def list_runs(
    request: Request,
    user: AiReader,
    session: SessionDep,
    study_instance_uid: Annotated[str, Query(pattern=r"^[0-9]+(\.[0-9]+)*$", max_length=64)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
) -> list[RunRead]:
    """A study's runs, newest first (the viewer shows earlier and automatic runs' results)."""
    found = refs.instances(session, study_instance_uid)  # the reader may read the study
    runs = service.study_runs(session, study_instance_uid, limit)
    audit.record_access(
        "ai.read", user, resource_type="study", resource_id=study_instance_uid,
        patient_id=found[0].patient_id or None, detail={"runs": len(runs)},
    )  # fmt: skip
    language = request.headers.get("accept-language")
    return [service.run_read(run, language) for run in runs]


@router.get("/runs/{run_id}")
def get_run(run_id: uuid.UUID, request: Request, user: AiReader, session: SessionDep) -> RunRead:
    """A run's status, its reason when it failed, and its findings (suggestions until reviewed)."""
    run = service.get_run(session, run_id)
    found = refs.instances(session, run.study_instance_uid)  # the reader may read the study
    audit.record_access(
        "ai.read", user, resource_type="study", resource_id=run.study_instance_uid,
        patient_id=found[0].patient_id or None, detail={"run_id": str(run.id)},
    )  # fmt: skip
    return service.run_read(run, request.headers.get("accept-language"))


@router.post("/findings/{finding_id}/review")
def review_finding(
    finding_id: uuid.UUID, body: ReviewRequest, user: AiReviewer, session: WriteSessionDep
) -> FindingRead:
    """Accept, reject or edit one finding (stored and audited)."""
    finding = service.review(session, user, finding_id, body)
    version = finding.run.version
    metrics.REVIEWS.labels(version.model.name, version.version, finding.status).inc()
    return service.finding_read(finding)


@router.get("/findings/{finding_id}/mask")
def get_finding_mask(finding_id: uuid.UUID, user: AiReader, session: SessionDep) -> MaskRead:
    """A segmentation finding's mask from its run's DICOM SEG: row runs per source image."""
    finding, mask = service.finding_mask(session, finding_id)
    found = refs.instances(session, finding.run.study_instance_uid)
    audit.record_access(
        "ai.read", user, resource_type="study", resource_id=finding.run.study_instance_uid,
        patient_id=found[0].patient_id or None, detail={"finding_id": str(finding.id)},
    )  # fmt: skip
    return mask


@router.get("/metrics")
def get_metrics(_user: AiManager, session: SessionDep) -> MetricsRead:
    """Per model version over 30 days: runs, failures, latency, acceptance, labels per day."""
    return MetricsRead(versions=service.version_metrics(session))
