"""Inference: DICOM images → model input → model output → findings and masks.

Preprocessing goes through the archive's rendering pipeline (hounsfield.dicom.render:
modality LUT, VOI window, MONOCHROME1 inverted) and is then resized; 3D models get a
volume assembled by ImagePositionPatient along the slice normal. ONNX sessions run on the
CPU by default and on CUDA when onnxruntime offers it; they are cached per model version,
and the model file's SHA-256 is checked before every load.
"""

from __future__ import annotations

import hashlib
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_modality_lut

from hounsfield.ai.errors import (
    InferenceFailed,
    InferenceTimeout,
    ModelCorrupt,
    ModelMissing,
    NoImages,
    UnreadableImage,
    WrongInputShape,
    WrongOutputShape,
)
from hounsfield.ai.schemas import InputSpec, Manifest
from hounsfield.dicom import render
from hounsfield.storage import get_storage
from hounsfield.storage.backend import ObjectNotFound

logger = logging.getLogger(__name__)

Floats = NDArray[np.float32]


@dataclass(frozen=True)
class SourceImage:
    """One frame of one instance, as the model sees its origin."""

    dataset: Dataset
    frame: int = 1

    @property
    def sop_instance_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)

    @property
    def shape(self) -> tuple[int, int]:
        return int(self.dataset.Rows), int(self.dataset.Columns)


@dataclass
class FindingDraft:
    """A finding before it is stored: geometry in the source image's pixel coordinates."""

    label: str
    probability: float
    sop_instance_uid: str | None = None
    frame: int | None = None
    geometry: dict[str, Any] = field(default_factory=dict)
    measurements: dict[str, float] = field(default_factory=dict)


@dataclass
class MaskResult:
    """Label masks over the source images (one frame per image), for a DICOM SEG."""

    sources: list[SourceImage]
    masks: dict[str, NDArray[np.bool_]]  # label → (images, rows, columns)


@dataclass
class Result:
    findings: list[FindingDraft]
    mask: MaskResult | None = None
    images: int = 0


# -- images -----------------------------------------------------------------------------------


def images_of(datasets: Sequence[Dataset]) -> list[SourceImage]:
    """Every frame of the datasets that has pixel data, in the given order."""
    found: list[SourceImage] = []
    for ds in datasets:
        if "PixelData" not in ds:
            continue
        found.extend(SourceImage(ds, frame) for frame in range(1, render.number_of_frames(ds) + 1))
    return found


def _pixels(image: SourceImage) -> NDArray[Any]:
    try:
        return render.frame_array(image.dataset, image.frame)
    except render.RenderError as exc:
        raise UnreadableImage(problem=str(exc)) from exc


def modality_values(image: SourceImage) -> NDArray[np.float64]:
    """Stored values → modality values (CT: Hounsfield units), as the renderer does."""
    arr = _pixels(image)
    if arr.ndim == 3:
        arr = arr.mean(axis=-1)
    return np.asarray(apply_modality_lut(arr, image.dataset), dtype=np.float64)


def _display(image: SourceImage, spec: InputSpec) -> NDArray[np.float64]:
    """0..255 through the rendering pipeline; grayscale (rows, cols) or RGB (rows, cols, 3)."""
    window = render.Window(spec.window.center, spec.window.width) if spec.window else None
    shown = render.display_array(image.dataset, _pixels(image), frame=image.frame, window=window)
    return shown.astype(np.float64)


def _resize(plane: NDArray[np.float64], rows: int, columns: int) -> NDArray[np.float64]:
    if plane.shape[:2] == (rows, columns):
        return plane
    if plane.ndim == 3:
        channels = [_resize(plane[..., c], rows, columns) for c in range(plane.shape[-1])]
        return np.stack(channels, axis=-1)
    img = Image.fromarray(plane.astype(np.float32), mode="F")
    return np.asarray(img.resize((columns, rows), Image.Resampling.BILINEAR), dtype=np.float64)


def _channels(plane: NDArray[np.float64], channels: int) -> NDArray[np.float64]:
    """(rows, cols, channels): gray repeated for RGB models, RGB averaged for gray ones."""
    if plane.ndim == 2:
        plane = plane[..., np.newaxis]
    if plane.shape[-1] == channels:
        return plane
    gray = plane.mean(axis=-1, keepdims=True)
    return np.repeat(gray, channels, axis=-1)


def _normalise(values: NDArray[np.float64], spec: InputSpec) -> NDArray[np.float64]:
    if spec.normalisation == "unit":
        return values / 255.0
    if spec.normalisation == "minus_one_one":
        return values / 127.5 - 1.0
    if spec.normalisation == "mean_std":
        return (values - spec.mean) / spec.std
    return values


def plane(image: SourceImage, spec: InputSpec) -> NDArray[np.float64]:
    """One image as the model wants it: (rows, cols, channels), resized and normalised."""
    values = _display(image, spec) if spec.values == "display" else modality_values(image)
    rows, columns = spec.size[-2], spec.size[-1]
    return _normalise(_channels(_resize(values, rows, columns), spec.channels), spec)


def tensor_2d(images: Sequence[SourceImage], spec: InputSpec) -> Floats:
    """A batch of images in the manifest's layout (NHWC or NCHW), float32."""
    batch = np.stack([plane(image, spec) for image in images])  # N, H, W, C
    if spec.layout == "NCHW":
        batch = batch.transpose(0, 3, 1, 2)
    return np.ascontiguousarray(batch, dtype=np.float32)


def _slice_position(ds: Dataset) -> float | None:
    """Position along the slice normal (PS3.3 C.7.6.2.1.1), None without geometry."""
    try:
        orientation = [float(v) for v in ds.ImageOrientationPatient]
        position = np.array([float(v) for v in ds.ImagePositionPatient])
    except (AttributeError, TypeError, ValueError):
        return None
    normal = np.cross(orientation[:3], orientation[3:])
    return float(np.dot(normal, position))


def sort_by_position(images: Sequence[SourceImage]) -> list[SourceImage]:
    """Slices in order along their normal; by Instance Number where geometry is missing."""
    positions = [_slice_position(image.dataset) for image in images]
    if all(p is not None for p in positions):
        order = sorted(range(len(images)), key=lambda i: positions[i] or 0.0)
    else:
        order = sorted(
            range(len(images)), key=lambda i: int(images[i].dataset.get("InstanceNumber") or 0)
        )
    return [images[i] for i in order]


def volume(images: Sequence[SourceImage], spec: InputSpec | None = None) -> NDArray[np.float64]:
    """A (slices, rows, cols) volume of modality values (or the spec's preprocessing)."""
    if not images:
        raise NoImages(problem="no slices")
    shapes = {image.shape for image in images}
    if len(shapes) > 1:
        raise UnreadableImage(problem=f"slices of different sizes {sorted(shapes)}")
    if spec is None:
        return np.stack([modality_values(image) for image in images])
    return np.stack([plane(image, spec)[..., 0] for image in images])


def tensor_3d(images: Sequence[SourceImage], spec: InputSpec) -> Floats:
    """One volume [1, 1, D, H, W], resampled along the slices to the manifest's depth."""
    vol = volume(images, spec)
    depth = spec.size[0]
    if vol.shape[0] != depth:  # nearest slice: keeps values, no invented intensities
        picks = np.round(np.linspace(0, vol.shape[0] - 1, depth)).astype(int)
        vol = vol[picks]
    return np.ascontiguousarray(vol[np.newaxis, np.newaxis], dtype=np.float32)


# -- sessions ---------------------------------------------------------------------------------


def providers() -> list[str]:
    """CUDA when this onnxruntime build offers it, with the CPU as the fallback."""
    available = ort.get_available_providers()
    chosen = [p for p in ("CUDAExecutionProvider",) if p in available]
    return [*chosen, "CPUExecutionProvider"]


def read_model(storage_key: str, sha256: str) -> bytes:
    """The model file's bytes, after checking their SHA-256 against the registry's."""
    try:
        with get_storage().open(storage_key) as stream:
            data = stream.read()
    except ObjectNotFound as exc:
        raise ModelMissing() from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != sha256:
        raise ModelCorrupt(expected=sha256[:16] + "…", actual=actual[:16] + "…")
    return data


def open_session(data: bytes) -> ort.InferenceSession:
    options = ort.SessionOptions()
    options.log_severity_level = 3  # warnings about unused initialisers are noise here
    return ort.InferenceSession(data, sess_options=options, providers=providers())


class SessionCache:
    """One ONNX session per model version, loaded (and hash-checked) on first use."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._sessions: dict[str, ort.InferenceSession] = {}

    def get(self, version_id: str, load: Callable[[], bytes]) -> ort.InferenceSession:
        with self._lock:
            session = self._sessions.get(version_id)
            if session is None:
                session = self._sessions[version_id] = open_session(load())
            return session

    def forget(self, version_id: str) -> None:
        with self._lock:
            self._sessions.pop(version_id, None)

    def clear(self) -> None:
        with self._lock:
            self._sessions.clear()


sessions = SessionCache()


def check_input(session: ort.InferenceSession, shape: Sequence[int]) -> None:
    """The tensor fits the model's first input (symbolic dimensions match anything)."""
    expected = session.get_inputs()[0].shape
    fits = len(expected) == len(shape) and all(
        not isinstance(e, int) or e == g for e, g in zip(expected, shape, strict=False)
    )
    if not fits:
        shown = [e if isinstance(e, int) else "?" for e in expected]
        raise WrongInputShape(expected=shown, got=list(shape))


def fixed_batch(session: ort.InferenceSession) -> int | None:
    first = session.get_inputs()[0].shape[0] if session.get_inputs()[0].shape else None
    return first if isinstance(first, int) else None


def run(session: ort.InferenceSession, tensor: Floats, timeout_s: float) -> Floats:
    """The first output for `tensor`; cancelled after `timeout_s` (RunOptions.terminate)."""
    check_input(session, tensor.shape)
    options = ort.RunOptions()
    timer = threading.Timer(timeout_s, lambda: setattr(options, "terminate", True))
    timer.start()
    try:
        name = session.get_inputs()[0].name
        output = session.run(None, {name: tensor}, run_options=options)[0]
    except Exception as exc:  # onnxruntime raises its own, untyped errors
        if options.terminate:
            raise InferenceTimeout(seconds=timeout_s) from exc
        raise InferenceFailed(problem=str(exc).splitlines()[0][:200]) from exc
    finally:
        timer.cancel()
    return np.asarray(output, dtype=np.float32)


# -- outputs → findings -----------------------------------------------------------------------


def activate(scores: Floats, activation: str, axis: int = -1) -> Floats:
    if activation == "softmax":
        shifted = np.exp(scores - scores.max(axis=axis, keepdims=True))
        return np.asarray(shifted / shifted.sum(axis=axis, keepdims=True), dtype=np.float32)
    if activation == "sigmoid":
        return np.asarray(1.0 / (1.0 + np.exp(-scores)), dtype=np.float32)
    return scores


def class_scores(manifest: Manifest, scores: Floats) -> Floats:
    """[N, labels] model scores → probabilities (the manifest's activation)."""
    labels = manifest.labels
    if scores.ndim != 2 or scores.shape[1] != len(labels):
        shape = list(scores.shape)
        raise WrongOutputShape(problem=f"expected [N, {len(labels)}] scores, got {shape}")
    return activate(scores, manifest.output.activation)


def classify(
    manifest: Manifest, images: Sequence[SourceImage], scores: Floats
) -> list[FindingDraft]:
    """Per image, the top label. Abnormal labels above threshold are findings; with none,
    the run reports one finding of the best normal label (the model saw nothing)."""
    labels = manifest.labels
    abnormal, normal = [], []
    for image, row in zip(images, class_scores(manifest, scores), strict=True):
        top = int(np.argmax(row))
        label = labels[top]
        draft = FindingDraft(
            label=label.name, probability=float(row[top]),
            sop_instance_uid=image.sop_instance_uid, frame=image.frame,
            measurements={f"p_{lab.name}": float(p) for lab, p in zip(labels, row, strict=True)},
        )  # fmt: skip
        if label.normal:
            normal.append(draft)
        elif row[top] >= label.threshold:
            abnormal.append(draft)
    if abnormal or not normal:
        return abnormal
    return [max(normal, key=lambda d: d.probability)]


def detect(manifest: Manifest, images: Sequence[SourceImage], boxes: Floats) -> list[FindingDraft]:
    """Boxes (x0, y0, x1, y1, score, label) in input pixels → source-image pixels."""
    if boxes.ndim != 3 or boxes.shape[-1] != 6:
        raise WrongOutputShape(problem=f"expected [N, boxes, 6], got {list(boxes.shape)}")
    rows_in, cols_in = manifest.input.size[-2], manifest.input.size[-1]
    found = []
    for image, rows in zip(images, boxes, strict=True):
        sy, sx = image.shape[0] / rows_in, image.shape[1] / cols_in
        for x0, y0, x1, y1, score, index in rows.tolist():
            if not 0 <= int(index) < len(manifest.labels):
                continue
            label = manifest.labels[int(index)]
            if score < label.threshold or label.normal:
                continue
            bbox = [round(x0 * sx, 2), round(y0 * sy, 2), round(x1 * sx, 2), round(y1 * sy, 2)]
            found.append(FindingDraft(label.name, float(score), image.sop_instance_uid,
                                      image.frame, {"bbox": bbox}))  # fmt: skip
    return found


def _bbox(mask: NDArray[np.bool_]) -> list[float]:
    rows, cols = np.nonzero(mask)
    return [float(cols.min()), float(rows.min()), float(cols.max() + 1), float(rows.max() + 1)]


def _upsample(mask: NDArray[np.bool_], shape: tuple[int, int]) -> NDArray[np.bool_]:
    if mask.shape == shape:
        return mask
    img = Image.fromarray(mask.astype(np.uint8) * 255)
    return np.asarray(img.resize((shape[1], shape[0]), Image.Resampling.NEAREST)) > 127


def mask_findings(
    manifest: Manifest, images: Sequence[SourceImage], masks: dict[str, NDArray[np.bool_]],
    scores: dict[str, NDArray[np.float32]] | None = None,
) -> list[FindingDraft]:  # fmt: skip
    """One finding per label with any pixel: its bounding box on the slice with most of it."""
    found = []
    for name, mask in masks.items():
        per_slice = mask.reshape(mask.shape[0], -1).sum(axis=1)
        if not per_slice.any():
            continue
        best = int(np.argmax(per_slice))
        probability = float(scores[name][mask].mean()) if scores else 1.0
        found.append(FindingDraft(
            label=name, probability=probability,
            sop_instance_uid=images[best].sop_instance_uid, frame=images[best].frame,
            geometry={"bbox": _bbox(mask[best]), "mask": "seg", "pixels": int(per_slice.sum())},
        ))  # fmt: skip
    return found


def segment(manifest: Manifest, images: Sequence[SourceImage], scores: Floats) -> Result:
    """[N, labels, H, W] scores → a mask per label at the source images' size."""
    labels = manifest.labels
    if scores.ndim != 4 or scores.shape[1] != len(labels):
        raise WrongOutputShape(
            problem=f"expected [N, {len(labels)}, H, W], got {list(scores.shape)}"
        )
    probs = activate(scores, manifest.output.activation, axis=1)
    shape = images[0].shape
    masks: dict[str, NDArray[np.bool_]] = {}
    upsampled: dict[str, NDArray[np.float32]] = {}
    for i, label in enumerate(labels):
        if label.normal:
            continue
        per_image = [_upsample(p[i] >= label.threshold, shape) for p in probs]
        masks[label.name] = np.stack(per_image)
        upsampled[label.name] = np.stack([
            np.asarray(Image.fromarray(p[i]).resize((shape[1], shape[0])), dtype=np.float32)
            for p in probs
        ])  # fmt: skip
    findings = mask_findings(manifest, images, masks, upsampled)
    return Result(findings, MaskResult(list(images), masks) if findings else None, len(images))


def infer_onnx(
    manifest: Manifest, session: ort.InferenceSession, images: Sequence[SourceImage],
    timeout_s: float, batch_size: int = 16,
) -> Result:  # fmt: skip
    """Run an ONNX model over the images (batched when the model's batch is dynamic)."""
    spec = manifest.input
    if spec.dims == 3:
        ordered = sort_by_position(images)
        scores = run(session, tensor_3d(ordered, spec), timeout_s)
        return _decode(manifest, ordered[:1], scores, ordered)
    if len({image.shape for image in images}) > 1 and manifest.task == "segmentation":
        raise UnreadableImage(problem="a segmentation series needs images of one size")
    step = fixed_batch(session) or batch_size
    outputs = [
        run(session, tensor_2d(images[i : i + step], spec), timeout_s)
        for i in range(0, len(images), step)
    ]
    return _decode(manifest, images, np.concatenate(outputs), images)


def _decode(manifest: Manifest, images: Sequence[SourceImage], scores: Floats,
            all_images: Sequence[SourceImage]) -> Result:  # fmt: skip
    if manifest.task == "classification":
        return Result(classify(manifest, images, scores), images=len(all_images))
    if manifest.task == "detection":
        return Result(detect(manifest, images, scores), images=len(all_images))
    if scores.ndim == 5:  # a 3D segmentation: [1, labels, D, H, W] → slices as the batch
        if scores.shape[2] != len(all_images):
            raise WrongOutputShape(problem=f"{scores.shape[2]} slices for {len(all_images)} images")
        scores = scores[0].transpose(1, 0, 2, 3)
        images = all_images
    return segment(manifest, images, scores)
