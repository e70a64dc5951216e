"""A segmentation finding's mask, read back from its run's DICOM SEG as row runs per
source image: what the viewer fills on each slice."""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient

from hounsfield.ai import runtime
from hounsfield.ai.service import _runs
from tests.ai.helpers import bright_segmenter, ct_series, fixed_detector, manifest, upload
from tests.ai.test_e2e import finished_run, store


@pytest.fixture(autouse=True)
def _fresh_sessions() -> None:
    runtime.sessions.clear()


def test_row_runs_of_a_mask() -> None:
    mask = np.zeros((4, 6), dtype=bool)
    mask[1, 0:2] = mask[1, 4:6] = mask[3, 2] = True
    assert _runs(mask) == [1, 0, 2, 1, 4, 2, 3, 2, 1]
    assert _runs(np.zeros((2, 2), dtype=bool)) == []


def test_a_segmentation_finding_gives_its_mask_on_every_slice(
    client: TestClient, auth_headers: Any
) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    assert upload(client, admin, manifest("bright-seg", "segmentation"),
                  bright_segmenter()).status_code == 201  # fmt: skip
    series = ct_series()  # 3 slices, 16 × 16, the bright square at rows 4..11, columns 5..10
    store(series)
    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "bright-seg"})  # fmt: skip
    [finding] = finished_run(client, doctor, started.json()["run_id"])["findings"]

    response = client.get(f"/api/ai/findings/{finding['id']}/mask", headers=doctor)
    assert response.status_code == 200, response.text
    mask = response.json()
    assert (mask["rows"], mask["columns"], mask["segment_number"]) == (16, 16, 1)
    assert sorted(s["sop_instance_uid"] for s in mask["slices"]) == sorted(
        ds.SOPInstanceUID for ds in series
    )
    for s in mask["slices"]:
        assert s["frame"] == 1
        assert s["runs"] == [v for row in range(4, 12) for v in (row, 5, 6)]

    technician = auth_headers("nurse")
    assert client.get(f"/api/ai/findings/{finding['id']}/mask",
                      headers=technician).status_code == 403  # fmt: skip


def test_a_finding_without_a_mask_says_so(client: TestClient, auth_headers: Any) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    assert (
        upload(client, admin, manifest("boxes", "detection"), fixed_detector()).status_code == 201
    )
    series = ct_series(slices=1, size=32)
    store(series)
    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "boxes"})  # fmt: skip
    [finding] = finished_run(client, doctor, started.json()["run_id"])["findings"]
    response = client.get(f"/api/ai/findings/{finding['id']}/mask", headers=doctor)
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "ai_no_mask"
    assert "掩膜" in response.json()["error"]["message"]
