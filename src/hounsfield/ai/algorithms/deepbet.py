"""Brain extraction (skull stripping) on T1-weighted head MR with deepbet's two 3D U-Nets.

The nets come from deepbet 1.0.2 (Fisch et al., Comput. Biol. Med. 2024), exported to ONNX
at install time (`make models`, tools/export_deepbet.py) into `<models_dir>/deepbet/`;
here they run with onnxruntime alone. The steps follow deepbet's own pipeline, written
again in numpy:

1. The series as a volume (slices by position along their normal, modality values),
   turned into the closest RAS+ orientation (axes permuted and flipped, no resampling:
   deepbet ignores voxel size too).
2. A nearest-neighbour 128³ copy; intensities clipped to its 0.5 / 99.5 percentiles,
   scaled to 0..1, standardised, then mapped to mean 0.449, SD 0.226.
3. The bounding-box net on the 128³ copy: brain probability > 0.5, largest component,
   its box (slabs with > 2 % brain) scaled to the volume and widened by 10 % each side.
4. The box of the full volume resized (nearest) to 256³, normalised with the same
   percentiles, through the brain net; the probabilities resized back into the box.
5. Brain = probability > 0.5 in the box, its largest 26-connected component, holes filled;
   back to the series' own slice order and axes.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np
import onnxruntime as ort
from numpy.typing import NDArray
from scipy import ndimage

from hounsfield.ai import runtime
from hounsfield.ai.errors import ModelCorrupt, ModelMissing, NotT1Weighted, NotVolume
from hounsfield.ai.runtime import MaskResult, Result, SourceImage
from hounsfield.ai.schemas import Manifest

# What `make models` writes with torch 2.13.0 and deepbet 1.0.2 (the export is byte for byte
# reproducible); any other file is refused.
SHA256 = {
    "bbox_model.onnx": "2728755aaa268ea2cf458cccb823fb4f97c0149a6be151d754023c83552a0fbb",
    "model.onnx": "c776f058e870b3868fc2296ce93c13ef13cded9e2e1d53ccae1c6238f5d425b9",
}
SMALL, FULL = (128, 128, 128), (256, 256, 256)
PERCENTILES = (0.5, 99.5)
BOX_MARGIN = 0.1  # of the box's size, each side
BOX_SLAB_FRACTION = 0.02
THRESHOLD = 0.5
MIN_SLICES = 32
MAX_T1_ECHO_MS = 30.0  # T2-weighted and FLAIR images have longer echo times
# Whole tokens (a trailing W, as in T2W, allowed); a T1 name wins (T1 FLAIR is T1-weighted).
OTHER_CONTRASTS = re.compile(r"(?<![A-Z0-9])(T2|FLAIR|PD|DWI|DTI|ADC|SWI|TRACE)(?![A-VX-Z0-9])")
T1_NAMES = re.compile(r"(?<![A-Z0-9])(T1|MPRAGE|MP-RAGE|SPGR|FSPGR|BRAVO)(?![A-VX-Z0-9])")
INFERENCE_TIMEOUT_S = 300.0
LABEL = "brain"

Floats = NDArray[np.float32]
Mask = NDArray[np.bool_]


# -- the model files ----------------------------------------------------------------------------


def models_dir() -> Path:
    """`<models_dir>/deepbet` (default: var/models/deepbet of the source tree)."""
    from hounsfield.config import get_settings

    root = get_settings().models_dir or Path(__file__).resolve().parents[4] / "var" / "models"
    return root / "deepbet"


def read_net(name: str) -> bytes:
    """One exported net, checked against its pinned SHA-256."""
    path = models_dir() / name
    try:
        data = path.read_bytes()
    except FileNotFoundError as exc:
        raise ModelMissing() from exc
    actual = hashlib.sha256(data).hexdigest()
    if actual != SHA256[name]:
        raise ModelCorrupt(expected=SHA256[name][:16] + "…", actual=actual[:16] + "…")
    return data


def installed() -> bool:
    return all((models_dir() / name).is_file() for name in SHA256)


def _session(name: str) -> ort.InferenceSession:
    return runtime.sessions.get(f"deepbet:{SHA256[name]}", lambda: read_net(name))


def net(name: str) -> Callable[[Floats], Floats]:
    """The net as a function of a volume: its brain probability (softmax channel 1)."""
    session = _session(name)

    def brain_probability(volume: Floats) -> Floats:
        tensor = np.ascontiguousarray(volume[np.newaxis, np.newaxis], dtype=np.float32)
        scores = runtime.run(session, tensor, INFERENCE_TIMEOUT_S)
        return np.asarray(scores[0, 1], dtype=np.float32)

    return brain_probability


# -- geometry -----------------------------------------------------------------------------------


def ras_axes(image: SourceImage) -> tuple[list[int], list[bool]]:
    """For the volume's axes (slice, row, column): the RAS axis each lies closest to, and
    whether it runs against it. Slices are in increasing order along their normal."""
    ds = image.dataset
    iop = np.array([float(v) for v in ds.ImageOrientationPatient])
    along_row, along_column = iop[:3], iop[3:]  # column index, row index directions (LPS)
    lps = np.stack([np.cross(along_row, along_column), along_column, along_row])
    ras = lps * np.array([-1.0, -1.0, 1.0])
    axis = [-1, -1, -1]
    weights = np.abs(ras)
    for _ in range(3):  # the strongest remaining pairing first (as nibabel's io_orientation)
        source, target = np.unravel_index(int(np.argmax(weights)), weights.shape)
        axis[int(source)] = int(target)
        weights[source, :], weights[:, target] = -1.0, -1.0
    flipped = [bool(ras[i, axis[i]] < 0) for i in range(3)]
    return axis, flipped


def to_ras(volume: NDArray[np.float64], axis: list[int], flipped: list[bool]) -> Floats:
    flips = tuple(i for i in range(3) if flipped[i])
    oriented = np.flip(volume, flips) if flips else volume
    order = [axis.index(k) for k in range(3)]
    return np.ascontiguousarray(oriented.transpose(order), dtype=np.float32)


def from_ras(mask: Mask, axis: list[int], flipped: list[bool]) -> Mask:
    back = mask.transpose(axis)
    flips = tuple(i for i in range(3) if flipped[i])
    return np.ascontiguousarray(np.flip(back, flips) if flips else back)


def resize_nearest(volume: NDArray[np.float32], shape: Sequence[int]) -> NDArray[np.float32]:
    """Nearest neighbour at voxel centres (torch's `nearest-exact`)."""
    picks = [
        np.minimum(((np.arange(out) + 0.5) * (size / out)).astype(np.int64), size - 1)
        for size, out in zip(volume.shape, shape, strict=True)
    ]
    return volume[np.ix_(*picks)]


# -- the pipeline -------------------------------------------------------------------------------


def normalise(volume: Floats, low: float, high: float) -> Floats:
    """Clip to [low, high] → 0..1, standardise, then mean 0.449 and SD 0.226 (as trained)."""
    scaled = np.clip((volume - low) / max(high - low, 1e-6), 0.0, 1.0)
    standard = (scaled - scaled.mean()) / max(float(scaled.std(ddof=1)), 1e-6)
    return np.asarray(0.226 * standard + 0.449, dtype=np.float32)


def largest_component(mask: Mask) -> Mask:
    labels, count = ndimage.label(mask, structure=np.ones((3, 3, 3), dtype=bool))
    if count <= 1:
        return mask.copy()
    sizes = np.bincount(labels.ravel())
    sizes[0] = 0
    return np.asarray(labels == int(np.argmax(sizes)))


def brain_box(small: Mask, shape: Sequence[int]) -> tuple[slice, slice, slice]:
    """The brain's box found on the 128³ copy, in the volume's voxels, widened by 10 %."""
    box = []
    for axis, size in enumerate(shape):
        others = tuple(a for a in range(3) if a != axis)
        present = np.nonzero(small.mean(axis=others) > BOX_SLAB_FRACTION)[0]
        if present.size == 0:
            raise NotVolume(problem="no brain found in the volume")
        scale = size / small.shape[axis]
        centre = round(scale * (present.min() + present.max() + 1) / 2)
        width = round(scale * (present.max() + 1 - present.min()) * (1 + 2 * BOX_MARGIN))
        box.append(slice(max(0, int(centre - width / 2)), min(size, int(centre + width / 2))))
    return box[0], box[1], box[2]


def brain_mask(ras: Floats, bbox_net: Callable[[Floats], Floats],
               brain_net: Callable[[Floats], Floats]) -> Mask:  # fmt: skip
    """deepbet's two stages on a RAS+ volume: the brain voxels."""
    ras = np.nan_to_num(ras)
    small = resize_nearest(ras, SMALL)
    low, high = (float(v) for v in np.percentile(small, PERCENTILES))
    found = largest_component(bbox_net(normalise(small, low, high)) > THRESHOLD)
    box = brain_box(found, ras.shape)
    crop = ras[box]
    probability = brain_net(normalise(resize_nearest(crop, FULL), low, high))
    inside = resize_nearest(probability, crop.shape) > THRESHOLD
    mask = np.zeros(ras.shape, dtype=bool)
    mask[box] = ndimage.binary_fill_holes(largest_component(inside))
    return mask


# -- the run ------------------------------------------------------------------------------------


def check_t1(image: SourceImage) -> None:
    """Refuse series that say they are another contrast, or have a T2-like echo time."""
    ds = image.dataset
    names = " ".join(str(ds.get(k) or "") for k in ("SeriesDescription", "ProtocolName",
                                                     "SequenceName")).upper()  # fmt: skip
    other = OTHER_CONTRASTS.search(names)
    if other and not T1_NAMES.search(names):
        raise NotT1Weighted(found=other.group(1))
    try:
        echo = float(ds.get("EchoTime") or 0.0)
    except (TypeError, ValueError):  # unreadable: the names above decided
        echo = 0.0
    if echo > MAX_T1_ECHO_MS:
        raise NotT1Weighted(found=f"TE {echo:g} ms")


def _by_series(images: Sequence[SourceImage]) -> list[list[SourceImage]]:
    """The images grouped by series, the series with most images first."""
    groups: dict[str, list[SourceImage]] = {}
    for image in images:
        groups.setdefault(str(image.dataset.get("SeriesInstanceUID", "")), []).append(image)
    return sorted(groups.values(), key=len, reverse=True)


def pick_series(images: Sequence[SourceImage]) -> list[SourceImage]:
    """The largest T1 series of at least MIN_SLICES slices; else why the largest is refused."""
    refusal: Exception | None = None
    for series in _by_series(images):
        try:
            if len(series) < MIN_SLICES:
                raise NotVolume(problem=f"{len(series)} slices, at least {MIN_SLICES} needed")
            check_t1(series[0])
        except (NotVolume, NotT1Weighted) as exc:
            refusal = refusal or exc
            continue
        return series
    assert refusal is not None  # the run's filters let at least one image through
    raise refusal


def voxel_ml(ordered: Sequence[SourceImage]) -> float | None:
    """One voxel's volume (ml): Pixel Spacing and the distance between slice positions."""
    try:
        rows, cols = (float(v) for v in ordered[0].dataset.PixelSpacing)
        first, second = (np.array([float(v) for v in image.dataset.ImagePositionPatient])
                         for image in ordered[:2])  # fmt: skip
    except (AttributeError, TypeError, ValueError):
        return None
    return rows * cols * float(np.linalg.norm(second - first)) / 1000.0


def analyse(manifest: Manifest, images: Sequence[SourceImage]) -> Result:
    """Brain extraction on the largest T1 head series: a brain mask (for a SEG) and volume."""
    ordered = runtime.sort_by_position(pick_series(images))
    try:
        axis, flipped = ras_axes(ordered[0])
    except (AttributeError, TypeError, ValueError) as exc:
        raise NotVolume(problem="the slices have no orientation") from exc
    ras = to_ras(runtime.volume(ordered), axis, flipped)
    mask = from_ras(brain_mask(ras, net("bbox_model.onnx"), net("model.onnx")), axis, flipped)
    found = runtime.mask_findings(manifest, ordered, {LABEL: mask})
    if not found:
        raise NotVolume(problem="no brain found in the volume")
    voxels = int(mask.sum())
    found[0].measurements = {"brain_voxels": float(voxels)}
    ml = voxel_ml(ordered)
    if ml is not None:
        found[0].measurements["brain_volume_ml"] = round(voxels * ml, 1)
    return Result(found, MaskResult(list(ordered), {LABEL: mask}), len(ordered))
