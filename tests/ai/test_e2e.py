"""End to end with real ONNX models: upload → trigger → run → findings → SR/SEG via WADO-RS
(dciodvfy-clean) → review recorded and audited; corrupt files and wrong shapes explained."""

from __future__ import annotations

import io
import json
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.ai import runtime, service
from hounsfield.audit import service as audit
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.storage import get_storage
from hounsfield.storage.local import LocalStorage
from hounsfield.studies.models import Instance, Series
from hounsfield.worker import shutdown_local_pool
from tests.ai.helpers import (
    bright_segmenter,
    brightness_classifier,
    ct_series,
    dciodvfy_errors,
    fixed_detector,
    manifest,
    upload,
)
from tests.dicom_factory import to_bytes
from tests.dicomweb.helpers import parse_multipart

MULTIPART = {"Accept": 'multipart/related; type="application/dicom"'}


@pytest.fixture(autouse=True)
def _fresh_sessions() -> None:
    runtime.sessions.clear()


def store(datasets: list[Any]) -> None:
    for ds in datasets:
        assert ingest(to_bytes(ds), origin="test").ok


def finished_run(client: TestClient, headers: dict[str, str], run_id: str) -> dict[str, Any]:
    shutdown_local_pool(wait=True)  # the run was handed to the embedded pool after commit
    response = client.get(f"/api/ai/runs/{run_id}", headers=headers)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def retrieve(client: TestClient, headers: dict[str, str], sop_uid: str) -> bytes:
    with transaction() as session:
        study, series = session.execute(
            select(Series.study_pk, Series.series_instance_uid)
            .join(Instance, Instance.series_pk == Series.id)
            .where(Instance.sop_instance_uid == sop_uid)
        ).one()
        from hounsfield.studies.models import Study

        study_uid = session.scalar(select(Study.study_instance_uid).where(Study.id == study))
    url = f"/dicom-web/studies/{study_uid}/series/{series}/instances/{sop_uid}"
    response = client.get(url, headers={**headers, **MULTIPART})
    assert response.status_code == 200, response.text
    parts = parse_multipart(response.headers["content-type"], response.content)
    assert len(parts) == 1
    return parts[0][1]


def test_segmentation_model_end_to_end(
    client: TestClient, auth_headers: Any, tmp_path: Path
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    created = upload(client, admin, manifest("bright-seg", "segmentation"), bright_segmenter())
    assert created.status_code == 201, created.text
    model = created.json()
    assert model["active_version"] == "1.0.0"
    assert len(model["versions"][0]["sha256"]) == 64
    series = ct_series()
    store(series)

    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID,
        "series_instance_uid": series[0].SeriesInstanceUID, "model": "bright-seg"})  # fmt: skip
    assert started.status_code == 202, started.text
    run = finished_run(client, doctor, started.json()["run_id"])

    assert run["status"] == "succeeded", run
    assert run["images"] == 3
    assert run["latency_ms"] > 0
    [finding] = run["findings"]
    assert finding["label"] == "bright"
    assert finding["status"] == "suggestion"
    assert finding["geometry"]["bbox"] == [5.0, 4.0, 11.0, 12.0]  # the 6 × 8 bright square
    assert finding["geometry"]["pixels"] == 3 * 6 * 8

    sr = retrieve(client, doctor, run["sr_sop_instance_uid"])
    assert dciodvfy_errors(sr, tmp_path) == []
    sr_ds = pydicom.dcmread(io.BytesIO(sr))
    assert sr_ds.Modality == "SR"
    assert sr_ds.StudyInstanceUID == series[0].StudyInstanceUID
    assert sr_ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    seg = retrieve(client, doctor, run["seg_sop_instance_uid"])
    assert dciodvfy_errors(seg, tmp_path) == []
    seg_ds = pydicom.dcmread(io.BytesIO(seg))
    assert seg_ds.Modality == "SEG"
    assert seg_ds.SegmentSequence[0].SegmentLabel == "bright"
    assert int(seg_ds.pixel_array.sum()) == 3 * 6 * 8

    reviewed = client.post(f"/api/ai/findings/{finding['id']}/review", headers=doctor,
                           json={"decision": "accept", "comment": "同意"})  # fmt: skip
    assert reviewed.status_code == 200, reviewed.text
    assert reviewed.json()["status"] == "accepted"
    assert reviewed.json()["reviewed_by"]
    again = client.post(f"/api/ai/findings/{finding['id']}/review", headers=doctor,
                        json={"decision": "reject"})  # fmt: skip
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ai_already_reviewed"
    with transaction() as session:
        accepted = service.accepted_findings(session, series[0].StudyInstanceUID)
    assert [str(f.id) for f in accepted] == [finding["id"]]
    audit.flush_buffer()
    with transaction() as session:
        actions = list(session.scalars(select(AuditEvent.action).order_by(AuditEvent.id)))
        review_event = session.scalar(select(AuditEvent).where(AuditEvent.action == "ai.review"))
    assert {"ai.model_register", "ai.run", "ai.read", "ai.review"} <= set(actions)
    assert review_event is not None
    assert finding["id"] in review_event.detail

    metrics = client.get("/api/ai/metrics", headers=admin).json()["versions"]
    [mine] = [m for m in metrics if m["model"] == "bright-seg"]
    assert mine["runs"] == 1
    assert mine["failures"] == 0
    assert mine["acceptance_rate"] == 1.0
    assert list(mine["labels_per_day"].values()) == [{"bright": 1}]
    exposition = client.get("/metrics").text
    assert 'hounsfield_ai_runs_total{model="bright-seg",status="succeeded",version="1.0.0"}' in (
        exposition
    )
    assert 'hounsfield_ai_reviews_total{decision="accepted",model="bright-seg"' in exposition


def test_unreviewed_findings_stay_suggestions_and_never_reach_a_report(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    upload(client, admin, manifest("bright-seg", "segmentation"), bright_segmenter())
    series = ct_series(slices=1, PatientBirthDate=None, StudyID=None)  # type 2, left out
    store(series)
    started = client.post("/api/ai/diagnose", headers=admin, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "bright-seg"})  # fmt: skip
    run = finished_run(client, admin, started.json()["run_id"])
    finding = run["findings"][0]
    assert finding["status"] == "suggestion"
    with transaction() as session:
        assert service.accepted_findings(session, series[0].StudyInstanceUID) == []
    client.post(f"/api/ai/findings/{finding['id']}/review", headers=admin,
                json={"decision": "reject"})  # fmt: skip
    with transaction() as session:
        assert service.accepted_findings(session, series[0].StudyInstanceUID) == []


def test_a_corrupt_model_file_fails_the_run_with_a_clear_reason(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    model = upload(client, admin, manifest("bright-seg", "segmentation"), bright_segmenter()).json()
    version = model["versions"][0]
    with transaction() as session:
        from hounsfield.ai.models import AiModelVersion

        key = session.scalar(select(AiModelVersion.storage_key))
    assert key is not None
    storage = get_storage()
    assert isinstance(storage, LocalStorage)
    (storage.root / key).write_bytes(b"not the model")  # bit rot, in place
    series = ct_series(slices=1)
    store(series)
    started = client.post("/api/ai/diagnose", headers=admin, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": model["id"]})  # fmt: skip
    run = finished_run(client, {**admin, "Accept-Language": "en"}, started.json()["run_id"])
    assert run["status"] == "failed"
    assert run["reason_code"] == "ai_model_corrupt"
    assert "SHA-256 mismatch" in run["reason"]
    assert version["sha256"][:16] in run["reason"]
    assert run["findings"] == []
    zh = client.get(f"/api/ai/runs/{run['id']}", headers=admin).json()
    assert "模型文件已损坏" in zh["reason"]


def test_an_upload_whose_input_spec_does_not_fit_the_model_is_refused(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    meta = manifest("bright-cls", "classification", input={"size": [32, 32], "channels": 1})
    response = upload(client, admin, meta, brightness_classifier(16))
    assert response.status_code == 422
    error = response.json()["error"]
    assert error["code"] == "ai_wrong_input_shape"
    assert "[1, 1, 16, 16]" in error["message"]
    assert "[1, 1, 32, 32]" in error["message"]
    english = upload(client, {**admin, "Accept-Language": "en"}, meta, brightness_classifier(16))
    assert "the model expects [1, 1, 16, 16]" in english.json()["error"]["message"]


@pytest.mark.nodb
def test_a_run_whose_tensor_does_not_fit_names_expected_and_got() -> None:
    session = runtime.open_session(brightness_classifier(16))
    with pytest.raises(runtime.WrongInputShape) as caught:
        runtime.run(session, runtime.np.zeros((1, 1, 8, 8), dtype="float32"), timeout_s=10)
    assert caught.value.details == {"expected": "[1, 1, 16, 16]", "got": "[1, 1, 8, 8]"}


def test_an_invalid_model_file_or_manifest_is_refused(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    bad_file = upload(client, admin, manifest("x", "classification"), b"\x00garbage")
    assert bad_file.status_code == 422
    assert bad_file.json()["error"]["code"] == "ai_invalid_model"
    bad_meta = upload(client, admin, {"name": "x"}, brightness_classifier())
    assert bad_meta.status_code == 422
    assert bad_meta.json()["error"]["code"] == "ai_invalid_manifest"


def test_versions_are_immutable_and_can_be_rolled_back(
    client: TestClient, auth_headers: Any
) -> None:
    admin = auth_headers("admin")
    first = upload(client, admin, manifest("cls", "classification"), brightness_classifier())
    model_id = first.json()["id"]
    again = upload(client, admin, manifest("cls", "classification"), brightness_classifier())
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "ai_version_exists"
    second = upload(client, admin, manifest("cls", "classification", version="1.1.0"),
                    brightness_classifier())  # fmt: skip
    assert second.json()["active_version"] == "1.1.0"
    rolled = client.patch(f"/api/ai/models/{model_id}", headers=admin,
                          json={"active_version": "1.0.0"})  # fmt: skip
    assert rolled.json()["active_version"] == "1.0.0"
    disabled = client.patch(f"/api/ai/models/{model_id}", headers=admin,
                            json={"disable": "1.0.0"})  # fmt: skip
    assert disabled.json()["active_version"] is None
    series = ct_series(slices=1)
    store(series)
    refused = client.post("/api/ai/diagnose", headers=admin, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "cls"})  # fmt: skip
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "ai_model_disabled"


def test_a_doctor_reviews_but_cannot_manage_models(client: TestClient, auth_headers: Any) -> None:
    doctor = auth_headers("doctor")
    response = upload(client, doctor, manifest("cls", "classification"), brightness_classifier())
    assert response.status_code == 403


def test_detection_boxes_come_back_in_image_pixels_and_a_doctor_edits_one(
    client: TestClient, auth_headers: Any, tmp_path: Path
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    assert (
        upload(client, admin, manifest("boxes", "detection"), fixed_detector()).status_code == 201
    )
    series = ct_series(slices=1, size=32)  # the model sees 16 × 16: boxes scale by 2
    store(series)
    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "boxes"})  # fmt: skip
    run = finished_run(client, doctor, started.json()["run_id"])
    [finding] = run["findings"]  # the 0.2 box is below the label's threshold
    assert finding["label"] == "lesion"
    assert finding["geometry"] == {"bbox": [4.0, 4.0, 16.0, 16.0]}
    assert finding["probability"] == pytest.approx(0.9)
    sr = retrieve(client, doctor, run["sr_sop_instance_uid"])
    assert dciodvfy_errors(sr, tmp_path) == []
    assert run["seg_sop_instance_uid"] is None

    empty = client.post(f"/api/ai/findings/{finding['id']}/review", headers=doctor,
                        json={"decision": "edit"})  # fmt: skip
    assert empty.json()["error"]["code"] == "ai_review_needs_change"
    edited = client.post(f"/api/ai/findings/{finding['id']}/review", headers=doctor, json={
        "decision": "edit", "label": "囊肿", "geometry": {"bbox": [5, 5, 15, 15]}})  # fmt: skip
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert body["status"] == "edited"
    assert body["edited_label"] == "囊肿"
    assert body["edited_geometry"] == {"bbox": [5.0, 5.0, 15.0, 15.0]}
    with transaction() as session:
        [kept] = service.accepted_findings(session, series[0].StudyInstanceUID)
    assert kept.edited_label == "囊肿"


def test_a_study_lists_its_runs_newest_first_and_the_listing_is_audited(
    client: TestClient, auth_headers: Any
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    upload(client, admin, manifest("cls", "classification"), brightness_classifier())
    series = ct_series(slices=1)
    store(series)
    study = series[0].StudyInstanceUID
    ids = []
    for _ in range(2):
        started = client.post("/api/ai/diagnose", headers=doctor,
                              json={"study_instance_uid": study, "model": "cls"})  # fmt: skip
        ids.append(finished_run(client, doctor, started.json()["run_id"])["id"])
    listed = client.get("/api/ai/runs", params={"study_instance_uid": study}, headers=doctor)
    assert listed.status_code == 200, listed.text
    assert [r["id"] for r in listed.json()] == ids[::-1]
    assert len(listed.json()[0]["findings"]) == 1  # with its findings
    one = client.get("/api/ai/runs", params={"study_instance_uid": study, "limit": 1},
                     headers=doctor)  # fmt: skip
    assert [r["id"] for r in one.json()] == ids[1:]
    missing = client.get("/api/ai/runs", params={"study_instance_uid": "1.2.3.999"},
                         headers=doctor)  # fmt: skip
    assert missing.status_code == 404
    audit.flush_buffer()
    with transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == "ai.read")
        reads = session.scalars(query.where(AuditEvent.resource_id == study)).all()
    assert any(json.loads(e.detail).get("runs") == 2 for e in reads)
