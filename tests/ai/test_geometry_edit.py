"""A doctor edits a finding's geometry: kept beside the AI's, validated against the image,
versioned (stale → 409), permission-checked, audited, and counted as edited in monitoring."""

from __future__ import annotations

from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.ai import runtime
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from tests.ai.helpers import ct_series, fixed_detector, manifest, upload
from tests.ai.test_e2e import finished_run, store


@pytest.fixture(autouse=True)
def _fresh_sessions() -> None:
    runtime.sessions.clear()


def _box_finding(client: TestClient, admin: dict[str, str], doctor: dict[str, str]) -> Any:
    assert (
        upload(client, admin, manifest("boxes", "detection"), fixed_detector()).status_code == 201
    )
    series = ct_series(slices=1, size=32)  # 32 × 32 pixels; the model's box is [4, 4, 16, 16]
    store(series)
    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "boxes"})  # fmt: skip
    [finding] = finished_run(client, doctor, started.json()["run_id"])["findings"]
    assert finding["geometry"] == {"bbox": [4.0, 4.0, 16.0, 16.0]}
    assert finding["version"] == 1
    return finding


def _review(client: TestClient, headers: dict[str, str], finding_id: str, **body: Any) -> Any:
    return client.post(f"/api/ai/findings/{finding_id}/review", headers=headers, json=body)


def test_an_edited_box_is_kept_beside_the_ai_box_versioned_and_audited(
    client: TestClient, auth_headers: Any
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    finding = _box_finding(client, admin, doctor)
    fid = finding["id"]

    first = _review(client, doctor, fid, decision="edit", geometry={"bbox": [4, 4, 20, 18]},
                    version=1)  # fmt: skip
    assert first.status_code == 200, first.text
    body = first.json()
    assert body["status"] == "edited"
    assert body["geometry"] == {"bbox": [4.0, 4.0, 16.0, 16.0]}  # the AI's, unchanged
    assert body["edited_geometry"] == {"bbox": [4.0, 4.0, 20.0, 18.0]}
    assert body["edited_label"] is None
    assert body["version"] == 2
    assert body["reviewed_by"]
    assert body["reviewed_at"]

    # A second adjustment names the version it read; the stale one is refused.
    stale = _review(client, doctor, fid, decision="edit", geometry={"bbox": [0, 0, 8, 8]},
                    version=1)  # fmt: skip
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "ai_finding_version_conflict"
    again = _review(client, doctor, fid, decision="edit", geometry={"bbox": [2, 3, 30, 31]},
                    version=2)  # fmt: skip
    assert again.status_code == 200, again.text
    assert again.json()["edited_geometry"] == {"bbox": [2.0, 3.0, 30.0, 31.0]}
    assert again.json()["version"] == 3
    # Without a version, a reviewed finding is not changed again.
    blind = _review(client, doctor, fid, decision="edit", geometry={"bbox": [0, 0, 8, 8]})
    assert blind.status_code == 409
    assert blind.json()["error"]["code"] == "ai_already_reviewed"
    # The run reads back the AI's geometry and the doctor's.
    runs = client.get("/api/ai/runs", headers=doctor,
                      params={"study_instance_uid": _study_of(fid)}).json()  # fmt: skip
    [kept] = [f for r in runs for f in r["findings"] if f["id"] == fid]
    assert kept["geometry"] == {"bbox": [4.0, 4.0, 16.0, 16.0]}
    assert kept["edited_geometry"] == {"bbox": [2.0, 3.0, 30.0, 31.0]}
    assert kept["version"] == 3
    with transaction() as session:
        events = list(session.scalars(
            select(AuditEvent).where(AuditEvent.action == "ai.review").order_by(AuditEvent.id)
        ))  # fmt: skip
    geometry_events = [e for e in events if '"edited_geometry"' in (e.detail or "")]
    assert len(geometry_events) == 2
    assert '"edited_geometry_before": {"bbox": [4.0, 4.0, 20.0, 18.0]}' in geometry_events[1].detail

    metrics = client.get("/api/ai/metrics", headers=admin).json()["versions"]
    [mine] = [v for v in metrics if v["model"] == "boxes"]
    assert mine["reviewed"] == 1
    assert mine["accepted"] == 1
    assert mine["acceptance_rate"] == 1.0


@pytest.mark.parametrize(
    ("geometry", "code"),
    [
        ({"bbox": [4, 4, 33, 16]}, "ai_geometry_out_of_bounds"),  # past the 32 columns
        ({"bbox": [-1, 4, 16, 16]}, "ai_geometry_out_of_bounds"),
        ({"bbox": [4, 4, 16, 32.5]}, "ai_geometry_out_of_bounds"),
        ({"contour": [[4, 4], [16, 4], [16, 16]]}, "ai_geometry_invalid"),  # a box's finding
        ({"bbox": [16, 4, 4, 16]}, "validation_error"),  # x0 > x1
        ({"bbox": [4, 4, 16]}, "validation_error"),
        ({"bbox": [4, 4, 16, 16], "contour": [[1, 1], [2, 2], [3, 1]]}, "validation_error"),
    ],
)
def test_a_geometry_outside_the_image_or_of_another_kind_is_refused(
    client: TestClient, auth_headers: Any, geometry: dict[str, Any], code: str
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    finding = _box_finding(client, admin, doctor)
    refused = _review(client, doctor, finding["id"], decision="edit", geometry=geometry, version=1)
    assert refused.status_code == 422, refused.text
    assert refused.json()["error"]["code"] == code
    english = _review(client, {**doctor, "Accept-Language": "en"}, finding["id"],
                      decision="edit", geometry=geometry, version=1)  # fmt: skip
    if code != "validation_error":
        assert (
            "image" in english.json()["error"]["message"]
            or "geometry" in (english.json()["error"]["message"])
        )
    # Nothing was stored: the finding is still an unreviewed suggestion at version 1.
    run = client.get("/api/ai/runs", headers=doctor,
                     params={"study_instance_uid": _study_of(finding["id"])}).json()  # fmt: skip
    [kept] = [f for r in run for f in r["findings"] if f["id"] == finding["id"]]
    assert kept["status"] == "suggestion"
    assert kept["edited_geometry"] is None
    assert kept["version"] == 1


def _study_of(finding_id: str) -> str:
    import uuid

    from hounsfield.ai.models import AiFinding, AiRun

    with transaction() as session:
        return session.scalar(
            select(AiRun.study_instance_uid).join(AiFinding, AiFinding.run_id == AiRun.id)
            .where(AiFinding.id == uuid.UUID(finding_id))
        ) or ""  # fmt: skip


def test_a_user_without_ai_review_cannot_edit_a_geometry(
    client: TestClient, auth_headers: Any
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    finding = _box_finding(client, admin, doctor)
    technician = auth_headers("technician")
    refused = _review(client, technician, finding["id"], decision="edit",
                      geometry={"bbox": [4, 4, 20, 18]}, version=1)  # fmt: skip
    assert refused.status_code == 403
    assert _review(client, doctor, finding["id"], decision="edit",
                   geometry={"bbox": [4, 4, 20, 18]}, version=1).status_code == 200  # fmt: skip
