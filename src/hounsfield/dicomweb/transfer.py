"""Transfer syntaxes for WADO-RS: media type negotiation and frames.

PS3.18 §8.7.3: instances are ``multipart/related; type="application/dicom"`` with an
optional ``transfer-syntax`` parameter (``*`` = as stored; any other syntax we can
produce is transcoded, `hounsfield.dicom.transcode`); frames are
``multipart/related; type="application/octet-stream"`` (uncompressed, Explicit VR Little
Endian by default, ``*`` = as stored) or the image media type of a compressed syntax.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from pydicom.dataset import Dataset
from pydicom.encaps import get_frame
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)

from hounsfield.dicom import transcode
from hounsfield.dicomweb.multipart import MediaRange, NotAcceptable

__all__ = [
    "NATIVE",
    "FrameChoice",
    "InstanceChoice",
    "choose_frames",
    "choose_instances",
    "extract_frames",
]

NATIVE = {
    str(ImplicitVRLittleEndian),
    str(ExplicitVRLittleEndian),
    str(ExplicitVRBigEndian),
    str(DeflatedExplicitVRLittleEndian),
}
EXPLICIT_LE = str(ExplicitVRLittleEndian)

# PS3.18 Table 8.7.3-2: the media type of each compressed syntax's frames.
FRAME_MEDIA_TYPES = {
    "1.2.840.10008.1.2.4.50": "image/jpeg",
    "1.2.840.10008.1.2.4.51": "image/jpeg",
    "1.2.840.10008.1.2.4.57": "image/jpeg",
    "1.2.840.10008.1.2.4.70": "image/jpeg",
    "1.2.840.10008.1.2.4.80": "image/jls",
    "1.2.840.10008.1.2.4.81": "image/jls",
    "1.2.840.10008.1.2.4.90": "image/jp2",
    "1.2.840.10008.1.2.4.91": "image/jp2",
    "1.2.840.10008.1.2.4.201": "image/jphc",
    "1.2.840.10008.1.2.4.202": "image/jphc",
    "1.2.840.10008.1.2.4.203": "image/jphc",
    "1.2.840.10008.1.2.5": "image/dicom-rle",
}


_ALIASES = {"image/x-jls": "image/jls", "image/x-dicom-rle": "image/dicom-rle"}


@dataclass(frozen=True)
class InstanceChoice:
    """How to send instances: multipart or one bare part, and in which syntax (None: as
    stored)."""

    multipart: bool
    transfer_syntax: str | None


@dataclass(frozen=True)
class FrameChoice:
    """Frames in their stored syntax (`transfer_syntax` None) or Explicit VR LE."""

    part_type: str
    transfer_syntax: str | None


def _wanted_syntax(r: MediaRange) -> str | None:
    """None: as stored; else a specific UID."""
    ts = r.params.get("transfer-syntax")
    return None if ts in (None, "*") else ts


def choose_instances(
    ranges: Sequence[MediaRange], stored: set[str], *, single: bool
) -> InstanceChoice:
    """Pick the response form for instances whose stored syntaxes are `stored`.

    A requested syntax other than the stored one is produced by transcoding (e.g. a client
    that accepts only uncompressed objects); one we cannot produce is skipped.
    """
    for r in ranges:
        if r.type in ("*/*", "multipart/*"):
            return InstanceChoice(True, None)
        part_type = r.params.get("type", "application/dicom")
        multipart = r.type == "multipart/related" and part_type in ("application/dicom", "*/*")
        if not multipart and not (r.type == "application/dicom" and single):
            continue
        ts = _wanted_syntax(r)
        if ts is None or stored == {ts}:
            return InstanceChoice(multipart, None)
        if all(transcode.can_produce(s, ts) for s in stored):
            return InstanceChoice(multipart, ts)
    raise NotAcceptable(
        'This resource is available as multipart/related; type="application/dicom".'
    )


def choose_frames(ranges: Sequence[MediaRange], stored: str) -> FrameChoice:
    """Pick the frames' part type and syntax for an instance stored in `stored`."""
    native = stored in NATIVE
    for r in ranges:
        if r.type in ("*/*", "multipart/*"):
            return FrameChoice("application/octet-stream", EXPLICIT_LE if native else None)
        if r.type != "multipart/related":
            continue
        part_type = _ALIASES.get(r.params.get("type", ""), r.params.get("type", ""))
        part_type = part_type or "application/octet-stream"
        ts = r.params.get("transfer-syntax")
        if part_type in ("*/*", "*"):  # anything: as stored for compressed, else uncompressed
            return FrameChoice(
                FRAME_MEDIA_TYPES.get(stored, "application/octet-stream")
                if not native
                else "application/octet-stream",
                None if not native else EXPLICIT_LE,
            )
        if part_type == "application/octet-stream":
            if ts == "*":
                return FrameChoice(part_type, EXPLICIT_LE if native else None)
            if ts is None or ts == EXPLICIT_LE or (native and ts in NATIVE):
                return FrameChoice(part_type, EXPLICIT_LE)
            if ts == stored:
                return FrameChoice(part_type, None)
        elif FRAME_MEDIA_TYPES.get(stored) == part_type and ts in (None, "*", stored):
            return FrameChoice(part_type, None)
    raise NotAcceptable(
        'Frames are available as multipart/related; type="application/octet-stream".'
    )


def _frame_size(ds: Dataset) -> int:
    bits = int(ds.BitsAllocated)
    pixels = int(ds.Rows) * int(ds.Columns) * int(ds.get("SamplesPerPixel", 1) or 1)
    return (pixels * bits + 7) // 8


def _number_of_frames(ds: Dataset) -> int:
    try:
        return max(1, int(ds.get("NumberOfFrames", 1) or 1))
    except (TypeError, ValueError):
        return 1


class FrameOutOfRange(LookupError):
    """A requested frame number does not exist (or there are no frames at all)."""


def extract_frames(ds: Dataset, numbers: Sequence[int], choice: FrameChoice) -> list[bytes]:
    """The requested frames (1-based) as bytes, in the syntax `choice` names.

    Little-endian native pixel data is sliced, never decoded; big endian is decoded and
    written little endian (OW words swapped whatever Bits Allocated says).

    Raises
    ------
    FrameOutOfRange
    hounsfield.dicom.transcode.TranscodeError
        When compressed frames must be decoded and cannot be.
    """
    if "PixelData" not in ds:
        raise FrameOutOfRange("the instance has no pixel data")
    frames = _number_of_frames(ds)
    if any(not 1 <= n <= frames for n in numbers):
        raise FrameOutOfRange(f"frames are numbered 1..{frames}")
    stored = str(ds.file_meta.TransferSyntaxUID)
    if stored in NATIVE and stored != str(ExplicitVRBigEndian):
        size = _frame_size(ds)
        data: bytes = ds.PixelData
        return [data[(n - 1) * size : n * size] for n in numbers]
    if choice.transfer_syntax is None:
        return [get_frame(ds.PixelData, n - 1, number_of_frames=frames) for n in numbers]
    out = []
    for n in numbers:
        arr = transcode.decode(ds, index=n - 1 if frames > 1 else None)
        out.append(np.ascontiguousarray(arr.astype(arr.dtype.newbyteorder("<"))).tobytes())
    return out
