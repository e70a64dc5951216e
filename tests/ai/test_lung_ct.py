"""The quantitative CT algorithm (Python kind): lung segmentation and LAA%-950 on a
synthetic chest CT phantom whose emphysema fraction is known, its lung mask as a DICOM
SEG (dciodvfy-clean); and the automatic run on arrival, by rule."""

from __future__ import annotations

import io
from pathlib import Path
from typing import Any

import numpy as np
import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid
from sqlalchemy import select

from hounsfield.ai import runtime, service
from hounsfield.ai.algorithms import lung_ct
from hounsfield.ai.models import AiRun
from hounsfield.db import transaction
from hounsfield.studies import service as studies_service
from hounsfield.worker import pending_count, shutdown_local_pool
from tests.ai.helpers import dciodvfy_errors
from tests.ai.test_e2e import finished_run, retrieve, store
from tests.dicom_factory import make_dataset

SIZE, SLICES = 96, 12
PIXEL_MM, SLICE_MM = 3.0, 10.0


def phantom(seed: int = 7) -> tuple[np.ndarray, np.ndarray, float]:
    """(HU volume, true lung mask, true LAA%-950): air, a soft-tissue body, two lungs at
    -850 HU with vessels (+40 HU) and emphysema voxels (-1000 HU), noise SD 15 HU."""
    rng = np.random.default_rng(seed)
    z, y, x = np.mgrid[0:SLICES, 0:SIZE, 0:SIZE]
    body = ((x - 48) / 44) ** 2 + ((y - 48) / 34) ** 2 <= 1
    lungs = np.zeros_like(body)
    for cx in (28, 68):
        lungs |= ((x - cx) / 14) ** 2 + ((y - 46) / 22) ** 2 + ((z - 5.5) / 7) ** 2 <= 1
    hu = np.where(body, 40.0, -1000.0)
    hu[lungs] = -850.0
    vessels = lungs & (rng.random(lungs.shape) < 0.03)
    hu[vessels] = 40.0
    emphysema = lungs & ~vessels & (x < 40) & (y > 40)  # the left lung's lower part
    hu[emphysema] = -1000.0
    hu += rng.normal(0, 15, hu.shape)
    return hu, lungs, 100.0 * emphysema.sum() / lungs.sum()


def ct_datasets(hu: np.ndarray, **overrides: Any) -> list[Dataset]:
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for k in range(hu.shape[0]):
        stored = np.clip(np.round(hu[k]) + 1024, 0, 4095).astype(np.uint16)
        out.append(make_dataset(
            StudyInstanceUID=study, SeriesInstanceUID=series, FrameOfReferenceUID=frame,
            Rows=SIZE, Columns=SIZE, InstanceNumber=SLICES - k, PixelSpacing=[PIXEL_MM] * 2,
            SliceThickness=SLICE_MM, ImageOrientationPatient=[1, 0, 0, 0, 1, 0],
            ImagePositionPatient=[0, 0, -SLICE_MM * k], PositionReferenceIndicator="",
            PixelData=stored.tobytes(), **overrides,
        ))  # fmt: skip
    return out


@pytest.mark.nodb
def test_lung_mask_and_laa_on_the_phantom() -> None:
    hu, truth, laa = phantom()
    mask = lung_ct.lung_mask(hu)
    dice = 2 * (mask & truth).sum() / (mask.sum() + truth.sum())
    assert dice > 0.99
    manifest = service.parse_manifest(service.LUNG_CT)
    images = runtime.images_of(ct_datasets(hu))
    [finding] = lung_ct.analyse(manifest, images).findings
    assert abs(finding.measurements["laa950_percent"] - laa) < 0.5
    true_ml = truth.sum() * PIXEL_MM * PIXEL_MM * SLICE_MM / 1000
    assert abs(finding.measurements["lung_volume_ml"] - true_ml) / true_ml < 0.02


def test_the_algorithm_runs_on_arrival_by_rule_and_stores_its_seg(
    client: TestClient, auth_headers: Any, tmp_path: Path
) -> None:
    admin = auth_headers("admin")
    with transaction(write=True) as session:
        service.register(session, None, service.parse_manifest(service.LUNG_CT), None)
    model = client.get("/api/ai/models", headers=admin).json()[0]
    assert model["name"] == "lung-ct"
    assert model["versions"][0]["kind"] == "python"
    switched = client.patch(f"/api/ai/models/{model['id']}", headers=admin, json={"auto_run": True})
    assert switched.json()["auto_run"] is True
    hu, _truth, laa = phantom()
    head = ct_datasets(hu[:2], BodyPartExamined="HEAD")  # another body part: no run
    store(head)
    datasets = ct_datasets(hu)
    with studies_service.transfer():  # one association or request: one refresh at its end
        store(datasets)
    for _ in range(10):  # the refresh queues the run, which may land in a fresh pool
        shutdown_local_pool(wait=True)
        if pending_count() == 0:
            break
    with transaction() as session:
        runs = list(session.scalars(select(AiRun)))
    assert [(r.series_instance_uid, r.triggered_by) for r in runs] == [
        (datasets[0].SeriesInstanceUID, "auto")
    ]
    run = finished_run(client, admin, str(runs[0].id))
    assert run["status"] == "succeeded", run
    [finding] = run["findings"]
    assert abs(finding["measurements"]["laa950_percent"] - laa) < 0.5
    seg = retrieve(client, admin, run["seg_sop_instance_uid"])
    assert dciodvfy_errors(seg, tmp_path) == []
    seg_ds = pydicom.dcmread(io.BytesIO(seg))
    assert seg_ds.SegmentSequence[0].SegmentLabel == "lung"
    sr = retrieve(client, admin, run["sr_sop_instance_uid"])
    assert dciodvfy_errors(sr, tmp_path) == []
    with transaction() as session:  # the SR and SEG series did not trigger runs of their own
        assert len(list(session.scalars(select(AiRun)))) == 1
    assert service.on_series_complete(datasets[0].SeriesInstanceUID) == 0  # nothing new


@pytest.mark.nodb
def test_rules_match_modality_body_part_sop_class_and_station() -> None:
    manifest = service.parse_manifest({**service.LUNG_CT, "filters": {
        "modalities": ["CT"], "body_parts": ["CHEST"],
        "sop_classes": ["1.2.840.10008.5.1.4.1.1.2"], "stations": ["CT01"]}})  # fmt: skip
    facts = {"Modality": "CT", "BodyPartExamined": "chest",
             "SOPClassUID": "1.2.840.10008.5.1.4.1.1.2", "StationName": "ct01"}  # fmt: skip
    assert service.matches(manifest, facts)
    others = {"Modality": "MR", "BodyPartExamined": "HEAD", "StationName": "CT02",
              "SOPClassUID": "1.2.840.10008.5.1.4.1.1.4"}  # fmt: skip
    for key, other in others.items():
        assert not service.matches(manifest, {**facts, key: other}), key
