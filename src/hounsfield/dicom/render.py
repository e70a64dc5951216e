"""Pixels → 8-bit display image (JPEG/PNG): the rendering pipeline of PS3.18 §8.3.5.1.

The pipeline follows PS3.3 C.11 and PS3.4 N.2: stored values → modality LUT (rescale or
Modality LUT Sequence) → VOI LUT (window or VOI LUT Sequence) → presentation
(MONOCHROME1 inverted) → 8-bit. Colour images (RGB, YBR_*, PALETTE COLOR) bypass the
grayscale transforms. Compressed transfer syntaxes are decoded by pydicom's pixel
backends (pylibjpeg with its openjpeg, libjpeg and rle plugins, pyjpegls) and GDCM as the
last resort (`hounsfield.dicom.transcode.decode`). The modality LUT is pydicom's
(`apply_modality_lut`); windows and VOI LUTs map to 0..1 here.

Everything here is pure: no database, no storage, no settings.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

import numpy as np
from numpy.typing import NDArray
from PIL import Image
from pydicom.dataset import Dataset
from pydicom.pixels.processing import apply_color_lut, apply_modality_lut

from hounsfield.dicom import transcode

__all__ = [
    "PRESETS",
    "RenderError",
    "Viewport",
    "Window",
    "display_array",
    "encode_image",
    "frame_array",
    "number_of_frames",
    "parse_viewport",
    "parse_window",
    "render",
    "thumbnail",
]

VoiFunction = Literal["linear", "linear_exact", "sigmoid"]
MediaType = Literal["image/jpeg", "image/png"]
MEDIA_TYPES: tuple[MediaType, ...] = ("image/jpeg", "image/png")


class RenderError(ValueError):
    """The dataset cannot be rendered (no pixel data, undecodable, bad frame or parameter)."""


@dataclass(frozen=True)
class Window:
    """A VOI window (PS3.3 C.11.2.1.2).

    Parameters
    ----------
    center, width : float
        Window center and width in modality-LUT output units (HU for CT).
    function : {"linear", "linear_exact", "sigmoid"}
        The VOI LUT Function.
    """

    center: float
    width: float
    function: VoiFunction = "linear"


#: CT window presets (center, width in HU), in the order of the viewer's keys 1–5.
PRESETS: dict[str, Window] = {
    "lung": Window(-600, 1500),
    "mediastinum": Window(40, 400),
    "bone": Window(400, 1800),
    "brain": Window(40, 80),
    "abdomen": Window(60, 400),
}


@dataclass(frozen=True)
class Viewport:
    """Output size bounds (PS3.18 §8.3.5.1.2 ``viewport=vw,vh``); the aspect ratio is kept."""

    width: int
    height: int


def parse_window(value: str) -> Window:
    """Parse the ``window=center,width,function`` query parameter (PS3.18 §8.3.5.1.3).

    Parameters
    ----------
    value : str
        ``"40,400"`` or ``"40,400,linear"``; function is ``linear``, ``linear-exact`` or
        ``sigmoid`` (case-insensitive; ``_`` accepted for ``-``).

    Returns
    -------
    Window

    Raises
    ------
    RenderError
        On a malformed value or a width below 1 (below 0 for linear-exact).
    """
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (2, 3):
        raise RenderError("window must be center,width[,function]")
    try:
        center, width = float(parts[0]), float(parts[1])
    except ValueError as exc:
        raise RenderError("window center and width must be numbers") from exc
    function = (parts[2] if len(parts) == 3 else "linear").lower().replace("-", "_")
    if function not in ("linear", "linear_exact", "sigmoid"):
        raise RenderError("window function must be linear, linear-exact or sigmoid")
    if not (math.isfinite(center) and math.isfinite(width)):
        raise RenderError("window center and width must be finite")
    if width < (0 if function == "linear_exact" else 1) or (function != "linear" and width <= 0):
        raise RenderError("window width is too small")
    return Window(center, width, function)  # type: ignore[arg-type]


def parse_viewport(value: str) -> Viewport:
    """Parse ``viewport=vw,vh`` (the optional source rectangle is not supported).

    Raises
    ------
    RenderError
        Unless both sizes are integers in 1..4096.
    """
    parts = [p.strip() for p in value.split(",")]
    if len(parts) not in (2, 6):
        raise RenderError("viewport must be vw,vh")
    try:
        width, height = int(parts[0]), int(parts[1])
    except ValueError as exc:
        raise RenderError("viewport sizes must be integers") from exc
    if not (1 <= width <= 4096 and 1 <= height <= 4096):
        raise RenderError("viewport sizes must be between 1 and 4096")
    return Viewport(width, height)


def number_of_frames(ds: Dataset) -> int:
    """The dataset's number of frames (1 when absent or malformed)."""
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


def frame_array(ds: Dataset, frame: int = 1) -> NDArray[Any]:
    """Decode one frame (1-based) of `ds`; colour is returned as RGB.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        A dataset with pixel data (and file meta, for the transfer syntax).
    frame : int
        1-based frame number.

    Returns
    -------
    numpy.ndarray
        ``(rows, columns)`` or ``(rows, columns, 3)``.

    Raises
    ------
    RenderError
        If there is no pixel data, the frame is out of range or decoding fails.
    """
    if "PixelData" not in ds and "FloatPixelData" not in ds and "DoubleFloatPixelData" not in ds:
        raise RenderError("the instance has no pixel data")
    frames = number_of_frames(ds)
    if not 1 <= frame <= frames:
        raise RenderError(f"frame {frame} is out of range 1..{frames}")
    try:
        arr = transcode.decode(ds, index=frame - 1 if frames > 1 else None)
    except transcode.TranscodeError as exc:
        raise RenderError(str(exc)) from exc
    if arr.ndim == 3 and arr.shape[0] == 1 and frames == 1 and arr.shape[-1] != 3:
        arr = arr[0]
    return arr


def _functional_group_item(ds: Dataset, frame: int, sequence: str) -> Dataset | None:
    """The item of a functional-group macro (e.g. PixelValueTransformationSequence)."""
    for groups in ("PerFrameFunctionalGroupsSequence", "SharedFunctionalGroupsSequence"):
        seq = ds.get(groups)
        if not seq:
            continue
        item = seq[frame - 1] if groups.startswith("PerFrame") and len(seq) >= frame else seq[0]
        inner = item.get(sequence)
        if inner:
            return inner[0]  # type: ignore[no-any-return]
    return None


def _modality_lut(ds: Dataset, arr: NDArray[Any], frame: int) -> NDArray[np.float64]:
    """Stored values → modality values (PS3.3 C.11.1): LUT sequence or rescale."""
    if "ModalityLUTSequence" in ds:
        return np.asarray(apply_modality_lut(arr, ds), dtype=np.float64)
    source: Dataset = ds
    if "RescaleSlope" not in ds:
        source = _functional_group_item(ds, frame, "PixelValueTransformationSequence") or ds
    rescale = Dataset()  # pydicom wants both; either may be absent (defaults 1 and 0)
    rescale.RescaleSlope = float(source.get("RescaleSlope", 1) or 1)
    rescale.RescaleIntercept = float(source.get("RescaleIntercept", 0) or 0)
    return np.asarray(apply_modality_lut(arr, rescale), dtype=np.float64)


def _lut_values(item: Dataset) -> list[int]:
    data = item.LUTData
    if isinstance(data, bytes | bytearray):
        bits = int(item.LUTDescriptor[2])
        dtype = (
            np.uint8 if bits <= 8 and len(data) == int(item.LUTDescriptor[0] or 65536) else "<u2"
        )
        return [int(v) for v in np.frombuffer(data, dtype=dtype)]
    if isinstance(data, int):
        return [data]
    return [int(v) for v in data]


def _voi_lut_sequence(item: Dataset, values: NDArray[np.float64]) -> NDArray[np.float64]:
    """PS3.3 C.11.2.1.1: the first VOI LUT, indexed by modality values, output 0..1.

    Not pydicom's `apply_voi`: 3.0 indexes in the LUT's dtype, so with an 8-bit LUT
    inputs above 255 wrap around instead of clamping to the last entry.
    """
    descriptor = [int(v) for v in item.LUTDescriptor]
    lut = np.asarray(_lut_values(item), dtype=np.float64)
    index = np.clip(np.rint(values).astype(np.int64) - descriptor[1], 0, len(lut) - 1)
    bits = descriptor[2] if 8 <= descriptor[2] <= 16 else 16
    result: NDArray[np.float64] = np.clip(lut[index] / (2**bits - 1), 0.0, 1.0)
    return result


def _apply_window(values: NDArray[np.float64], window: Window) -> NDArray[np.float64]:
    """PS3.3 C.11.2.1.2 (linear, linear exact) and C.11.2.1.3.1 (sigmoid), output 0..1."""
    c, w = window.center, window.width
    if window.function == "linear":
        out = ((values - (c - 0.5)) / (w - 1)) + 0.5
    elif window.function == "linear_exact":
        out = (values - c) / w + 0.5
    else:
        out = 1.0 / (1.0 + np.exp(-4.0 * (values - c) / w))
    return np.clip(out, 0.0, 1.0)


def _values(item: Any) -> list[float]:
    if item is None:
        return []
    if isinstance(item, str | int | float):
        return [float(item)]
    return [float(v) for v in item]


def _dataset_window(ds: Dataset, frame: int) -> Window | None:
    """The first window of the dataset (multi-valued WindowCenter/Width: the first pair)."""
    source: Dataset = ds
    if "WindowCenter" not in ds:
        item = _functional_group_item(ds, frame, "FrameVOILUTSequence")
        if item is None:
            return None
        source = item
    centers, widths = _values(source.get("WindowCenter")), _values(source.get("WindowWidth"))
    if not centers or not widths or widths[0] < 1:
        return None
    function = str(source.get("VOILUTFunction", "LINEAR") or "LINEAR").lower()
    if function not in ("linear", "linear_exact", "sigmoid"):
        function = "linear"
    return Window(centers[0], widths[0], function)  # type: ignore[arg-type]


def _to_uint8(unit: NDArray[np.float64]) -> NDArray[np.uint8]:
    return np.rint(unit * 255.0).astype(np.uint8)


def _min_max(values: NDArray[np.float64]) -> NDArray[np.float64]:
    finite = values[np.isfinite(values)]
    if finite.size == 0:
        return np.zeros_like(values)
    low, high = float(finite.min()), float(finite.max())
    if high <= low:
        return np.zeros_like(values)
    return np.clip((values - low) / (high - low), 0.0, 1.0)


def display_array(
    ds: Dataset, arr: NDArray[Any], *, frame: int = 1, window: Window | None = None
) -> NDArray[np.uint8]:
    """Turn decoded pixels into an 8-bit grayscale or RGB display image.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
        The dataset the pixels came from (for LUTs, photometric interpretation).
    arr : numpy.ndarray
        One decoded frame, as from :func:`frame_array`.
    frame : int
        1-based frame number (for per-frame functional groups).
    window : Window, optional
        Overrides the dataset's VOI transform (grayscale only).

    Returns
    -------
    numpy.ndarray
        ``uint8``, ``(rows, columns)`` or ``(rows, columns, 3)``.
    """
    photometric = str(ds.get("PhotometricInterpretation", "MONOCHROME2")).strip().upper()
    if photometric == "PALETTE COLOR":
        rgb = apply_color_lut(arr, ds)
        bits = 8 if rgb.dtype == np.uint8 else 16
        return _to_uint8(rgb.astype(np.float64) / (2**bits - 1))
    if arr.ndim == 3:  # RGB (YBR already converted by frame_array)
        if arr.dtype == np.uint8:
            return arr
        bits = int(ds.get("BitsStored", ds.get("BitsAllocated", 8)) or 8)
        return _to_uint8(np.clip(arr.astype(np.float64) / (2**bits - 1), 0.0, 1.0))

    values = _modality_lut(ds, arr, frame)
    if window is not None:
        unit = _apply_window(values, window)
    elif "VOILUTSequence" in ds:
        unit = _voi_lut_sequence(ds.VOILUTSequence[0], values)
    else:
        own = _dataset_window(ds, frame)
        unit = _apply_window(values, own) if own is not None else _min_max(values)
    if photometric == "MONOCHROME1":
        unit = 1.0 - unit
    return _to_uint8(unit)


def encode_image(
    image: NDArray[np.uint8],
    *,
    media_type: MediaType = "image/jpeg",
    viewport: Viewport | None = None,
    quality: int = 90,
) -> bytes:
    """Scale an 8-bit image to fit `viewport` and encode it as JPEG or PNG.

    Parameters
    ----------
    image : numpy.ndarray
        ``uint8`` grayscale or RGB.
    media_type : {"image/jpeg", "image/png"}
    viewport : Viewport, optional
        Bounds; the image is scaled (up or down) to fit, keeping its aspect ratio.
    quality : int
        JPEG quality 1..100 (PS3.18 §8.3.5.1.4).
    """
    picture = Image.fromarray(image)
    if viewport is not None:
        scale = min(viewport.width / picture.width, viewport.height / picture.height)
        size = (max(1, round(picture.width * scale)), max(1, round(picture.height * scale)))
        if size != picture.size:
            picture = picture.resize(size, Image.Resampling.LANCZOS)
    out = io.BytesIO()
    if media_type == "image/png":
        picture.save(out, format="PNG", optimize=False, compress_level=4)
    elif media_type == "image/jpeg":
        picture.save(out, format="JPEG", quality=max(1, min(100, quality)))
    else:
        raise RenderError(f"unsupported media type {media_type}")
    return out.getvalue()


def render(
    ds: Dataset,
    *,
    frame: int = 1,
    window: Window | None = None,
    viewport: Viewport | None = None,
    media_type: MediaType = "image/jpeg",
    quality: int = 90,
) -> bytes:
    """Render one frame of `ds` as an encoded image.

    Parameters
    ----------
    ds : pydicom.dataset.Dataset
    frame : int
        1-based frame number.
    window : Window, optional
        VOI override (``window=`` parameter).
    viewport : Viewport, optional
        Output size bounds.
    media_type : {"image/jpeg", "image/png"}
    quality : int
        JPEG quality.

    Returns
    -------
    bytes
        The encoded image.

    Raises
    ------
    RenderError
    """
    arr = frame_array(ds, frame)
    image = display_array(ds, arr, frame=frame, window=window)
    return encode_image(image, media_type=media_type, viewport=viewport, quality=quality)


def thumbnail(ds: Dataset, *, size: int = 128, quality: int = 80) -> bytes:
    """A JPEG thumbnail of the middle frame, at most `size` × `size` pixels."""
    frames = number_of_frames(ds)
    return render(
        ds,
        frame=(frames + 1) // 2,
        viewport=Viewport(size, size),
        media_type="image/jpeg",
        quality=quality,
    )


def preset_names() -> Mapping[str, tuple[float, float]]:
    """The CT presets as ``{name: (center, width)}``, for the API and the viewer."""
    return {name: (w.center, w.width) for name, w in PRESETS.items()}
