"""Transfer syntax conversion of whole instances, for objects on their way out.

Decompression goes to Explicit VR Little Endian (pydicom's pixel backends: pylibjpeg,
pyjpegls, then GDCM; GDCM directly where pydicom refuses it, e.g. 12-bit JPEG Extended).
Compression is lossless only (RLE, JPEG-LS, JPEG 2000), with pydicom's encoders. An
image that was ever lossy stays marked so (PS3.3 C.7.6.1.1.5): decompressing JPEG
Baseline sets Lossy Image Compression to 01 and keeps (or adds) its ratio and method.

Pure: no database, no storage, no settings. The input dataset is never modified.
"""

from __future__ import annotations

import copy
import io
import os
import tempfile
from collections.abc import Iterable
from typing import Any

import numpy as np
from numpy.typing import NDArray
from pydicom.dataset import Dataset
from pydicom.pixels import decoders
from pydicom.pixels.decoders.base import Decoder
from pydicom.pixels.encoders.base import get_encoder
from pydicom.pixels.utils import pixel_array
from pydicom.uid import (
    UID,
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
    JPEG2000Lossless,
    JPEGLSLossless,
    RLELossless,
)

__all__ = [
    "LOSSLESS_TARGETS",
    "UNCOMPRESSED",
    "TranscodeError",
    "can_produce",
    "choose",
    "decode",
    "decompress",
    "to_bytes",
    "transcode",
]

UNCOMPRESSED = frozenset(
    {
        str(ImplicitVRLittleEndian),
        str(ExplicitVRLittleEndian),
        str(ExplicitVRBigEndian),
        str(DeflatedExplicitVRLittleEndian),
    }
)
#: Little-endian uncompressed syntaxes we write (big endian is retired: read only).
_WRITABLE_NATIVE = frozenset(
    {str(ImplicitVRLittleEndian), str(ExplicitVRLittleEndian), str(DeflatedExplicitVRLittleEndian)}
)
#: Lossless compressed syntaxes we can encode, in order of preference.
LOSSLESS_TARGETS = (str(RLELossless), str(JPEGLSLossless), str(JPEG2000Lossless))
# pydicom's GDCM encoder aborts the process on some input (odd-sized RLE): name the plugin.
_ENCODER_PLUGINS = {str(RLELossless): "pylibjpeg", str(JPEGLSLossless): "pyjpegls",
                    str(JPEG2000Lossless): "pylibjpeg"}  # fmt: skip

# PS3.3 C.7.6.1.1.5.1: the method code of each syntax that is (or may be) lossy.
_LOSSY_METHODS = {
    "1.2.840.10008.1.2.4.50": "ISO_10918_1",
    "1.2.840.10008.1.2.4.51": "ISO_10918_1",
    "1.2.840.10008.1.2.4.81": "ISO_14495_1",
    "1.2.840.10008.1.2.4.91": "ISO_15444_1",
    "1.2.840.10008.1.2.4.93": "ISO_15444_2",
    "1.2.840.10008.1.2.4.203": "ISO_15444_15",
}
# Always lossy; the others are lossy unless the object says Lossy Image Compression 00.
_ALWAYS_LOSSY = frozenset({"1.2.840.10008.1.2.4.50", "1.2.840.10008.1.2.4.51"})


def _gdcm_last() -> None:
    """Once python-gdcm is installed pydicom tries its GDCM plugin first; keep pylibjpeg
    and pyjpegls first, and call GDCM ourselves as the last resort (`_gdcm_decode`)."""
    for name in dir(decoders):
        coder = getattr(decoders, name)
        if isinstance(coder, Decoder) and "gdcm" in coder.available_plugins:
            coder.remove_plugin("gdcm")


_gdcm_last()


class TranscodeError(ValueError):
    """The object cannot be converted: its pixel data can't be decoded or encoded."""


def _has_pixels(ds: Dataset) -> bool:
    return "PixelData" in ds


def can_produce(stored: str, target: str) -> bool:
    """Whether an object stored in `stored` can, in principle, be sent as `target`."""
    if target == stored:
        return True
    if target in _WRITABLE_NATIVE:
        return True
    if target in LOSSLESS_TARGETS:
        encoder = get_encoder(UID(target))
        return _ENCODER_PLUGINS[target] in encoder.available_plugins
    return False


def choose(stored: str, accepted: Iterable[str]) -> str | None:
    """The first syntax in `accepted` that an object stored as `stored` can be sent in.

    The stored syntax itself wins when accepted (no work, no change); None when nothing
    fits.
    """
    accepted = list(accepted)
    if stored in accepted:
        return stored
    return next((ts for ts in accepted if can_produce(stored, ts)), None)


def _gdcm_decode(ds: Dataset) -> NDArray[Any]:
    """Decode with GDCM itself: pydicom's GDCM plugin refuses some syntaxes GDCM reads."""
    import gdcm  # type: ignore[import-untyped]

    gdcm.Trace.WarningOff()
    gdcm.Trace.ErrorOff()
    buffer = io.BytesIO()
    ds.save_as(buffer, enforce_file_format=True)
    with tempfile.NamedTemporaryFile(suffix=".dcm", delete=False) as fp:
        fp.write(buffer.getvalue())
    try:
        reader = gdcm.ImageReader()
        reader.SetFileName(fp.name)
        raw = reader.GetImage().GetBuffer() if reader.Read() else None
    finally:
        os.unlink(fp.name)
    if raw is None:
        raise TranscodeError("GDCM cannot decode the pixel data")
    bits = int(ds.BitsAllocated)
    signed = int(ds.get("PixelRepresentation", 0) or 0) == 1
    dtype = np.dtype(f"<{'i' if signed else 'u'}{max(1, bits // 8)}")
    flat = np.frombuffer(raw.encode("utf-8", "surrogateescape"), dtype=dtype)
    frames = max(1, int(ds.get("NumberOfFrames", 1) or 1))
    samples = int(ds.get("SamplesPerPixel", 1) or 1)
    shape: tuple[int, ...] = (frames, int(ds.Rows), int(ds.Columns), samples)
    if flat.size != int(np.prod(shape)):
        raise TranscodeError("GDCM returned pixel data of the wrong size")
    arr = flat.reshape(shape)
    if samples == 1:
        arr = arr[..., 0]
    return arr[0] if frames == 1 else arr


def decode(ds: Dataset, index: int | None = None) -> NDArray[Any]:
    """All frames (or frame `index`, 0-based) as an array, YBR converted to RGB.

    Raises
    ------
    TranscodeError
        With the decoders' reason when none of them can decode the data.
    """
    try:
        return pixel_array(ds, index=index)
    except Exception as exc:  # decoders raise many kinds; the reason is what matters
        first = exc
    reason = str(first).splitlines()[-1].strip() or type(first).__name__
    if not UID(str(ds.file_meta.TransferSyntaxUID)).is_compressed:
        raise TranscodeError(f"the pixel data cannot be decoded: {reason}") from first
    try:
        arr = _gdcm_decode(ds)
    except TranscodeError:
        raise TranscodeError(f"the pixel data cannot be decoded: {reason}") from first
    frames = max(1, int(ds.get("NumberOfFrames", 1) or 1))
    return arr[index] if index is not None and frames > 1 else arr


def _mark_lossy(ds: Dataset, stored: str, compressed_size: int, decoded_size: int) -> None:
    """Keep the lossy history of an image decompressed from a lossy syntax."""
    method = _LOSSY_METHODS.get(stored)
    if method is None:
        return
    if stored not in _ALWAYS_LOSSY and str(ds.get("LossyImageCompression", "")) == "00":
        return
    ds.LossyImageCompression = "01"
    if "LossyImageCompressionMethod" not in ds:
        ds.LossyImageCompressionMethod = method
    if "LossyImageCompressionRatio" not in ds and compressed_size:
        ds.LossyImageCompressionRatio = f"{decoded_size / compressed_size:.2f}"[:16]


def _copy(ds: Dataset) -> Dataset:
    """A fresh copy: pydicom won't change a read dataset's endianness when saving."""
    out = Dataset()
    for elem in ds:
        out.add(copy.deepcopy(elem))
    out.file_meta = copy.deepcopy(ds.file_meta)
    return out


def _set_native_pixels(out: Dataset, ds: Dataset) -> None:
    """Decode `ds` ourselves (big endian, or what only GDCM reads) into `out`."""
    arr = decode(ds)
    data = np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes()
    out.PixelData = data + b"\0" * (len(data) % 2)
    out["PixelData"].VR = "OB" if int(ds.BitsAllocated) <= 8 else "OW"
    if int(ds.get("SamplesPerPixel", 1) or 1) > 1:
        if str(ds.get("PhotometricInterpretation", "")).startswith("YBR"):
            out.PhotometricInterpretation = "RGB"  # the decoders convert YBR to RGB
        out.PlanarConfiguration = 0


def _native_copy(ds: Dataset) -> Dataset:
    """A copy of `ds` with little-endian native pixel data (any stored syntax)."""
    stored = str(ds.file_meta.TransferSyntaxUID)
    out = _copy(ds)
    if _has_pixels(ds) and stored not in _WRITABLE_NATIVE:
        if UID(stored).is_compressed:
            try:
                out.decompress(generate_instance_uid=False)
            except Exception:  # pydicom's backends all failed: GDCM directly, or a reason
                out = _copy(ds)
                _set_native_pixels(out, ds)
            _mark_lossy(out, stored, len(ds.PixelData), len(out.PixelData))
        else:
            _set_native_pixels(out, ds)
    out.file_meta.TransferSyntaxUID = ExplicitVRLittleEndian
    return out


def decompress(ds: Dataset) -> Dataset:
    """`ds` as Explicit VR Little Endian, uncompressed (a new dataset)."""
    return _native_copy(ds)


def transcode(ds: Dataset, target: str) -> Dataset:
    """A copy of `ds` in transfer syntax `target` (the same object when nothing changes).

    Raises
    ------
    TranscodeError
        When the data can't be decoded, or `target` is neither a little-endian
        uncompressed syntax nor a lossless one we can encode.
    """
    stored = str(ds.file_meta.TransferSyntaxUID)
    if target == stored:
        return ds
    if target not in _WRITABLE_NATIVE and target not in LOSSLESS_TARGETS:
        raise TranscodeError(f"cannot encode {UID(target).name or target}")
    native = _native_copy(ds)
    if target in _WRITABLE_NATIVE or not _has_pixels(native):
        native.file_meta.TransferSyntaxUID = UID(target)
        return native
    try:
        native.compress(
            UID(target), encoding_plugin=_ENCODER_PLUGINS[target], generate_instance_uid=False
        )
    except Exception as exc:  # encoders raise many kinds (unsupported bit depth, …)
        raise TranscodeError(f"cannot encode as {UID(target).name}: {exc}") from exc
    return native


def to_bytes(ds: Dataset) -> bytes:
    """The dataset as a DICOM file (preamble, file meta), in its file meta's syntax."""
    syntax = UID(str(ds.file_meta.TransferSyntaxUID))
    out = io.BytesIO()
    ds.save_as(
        out,
        enforce_file_format=True,
        implicit_vr=syntax.is_implicit_VR,
        little_endian=syntax.is_little_endian,
    )
    return out.getvalue()
