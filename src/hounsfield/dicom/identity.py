"""When two files are the same instance: what the dataset says, not how it is encoded.

The identity of an instance is its dataset: the preamble, the file meta information, the
transfer syntax and the encoding (implicit or explicit VR, defined or undefined lengths,
lossless compression) are not part of it. Two digests capture it:

- the *dataset digest*: SHA-256 of every element but the pixel data, each written in one
  canonical encoding (tag, length, little-endian value; text without its trailing
  padding; sequences item by item, whatever their lengths), without group lengths
  (gggg,0000) and trailing padding (FFFC,FFFC);
- the *pixel digest*: SHA-256 of the pixel data value as stored (native or encapsulated),
  tagged by whether it is native.

Equal dataset digests and equal pixel digests: the same instance. Equal dataset digests,
other pixel digests, both transfer syntaxes lossless: the pixel data are compared decoded
(`same_pixels`). Anything else is other content. Pure: no database, no storage.
"""

from __future__ import annotations

import hashlib
import struct
import warnings
from pathlib import Path
from typing import Any, BinaryIO

import numpy as np
from pydicom import dcmread
from pydicom.dataset import Dataset
from pydicom.filebase import DicomBytesIO
from pydicom.filewriter import correct_ambiguous_vr_element, write_data_element
from pydicom.multival import MultiValue

__all__ = [
    "LOSSLESS",
    "CanonicalDigest",
    "dataset_digest",
    "is_lossless",
    "pixel_digest",
    "same_pixels",
    "skipped",
]

PIXEL_TAGS = frozenset({0x7FE00010, 0x7FE00008, 0x7FE00009})
TRAILING_PADDING = 0xFFFCFFFC
CHUNK = 1 << 20
# String VRs whose trailing spaces are insignificant (PS3.5 6.2), and UI's NUL padding.
PADDED_VRS = frozenset("AE AS CS DA DS DT IS LO LT PN SH ST TM UC UI UR UT".split())

# Transfer syntaxes whose pixel data decode to exactly what was encoded.
LOSSLESS = frozenset(
    {
        "1.2.840.10008.1.2",  # Implicit VR Little Endian
        "1.2.840.10008.1.2.1",  # Explicit VR Little Endian
        "1.2.840.10008.1.2.1.99",  # Deflated Explicit VR Little Endian
        "1.2.840.10008.1.2.2",  # Explicit VR Big Endian
        "1.2.840.10008.1.2.5",  # RLE Lossless
        "1.2.840.10008.1.2.4.57",  # JPEG Lossless
        "1.2.840.10008.1.2.4.70",  # JPEG Lossless, SV1
        "1.2.840.10008.1.2.4.80",  # JPEG-LS Lossless
        "1.2.840.10008.1.2.4.90",  # JPEG 2000 Lossless
        "1.2.840.10008.1.2.4.92",  # JPEG 2000 Part 2 Multi-component Lossless
        "1.2.840.10008.1.2.4.201",  # HTJ2K Lossless
        "1.2.840.10008.1.2.4.202",  # HTJ2K Lossless RPCL
    }
)
NATIVE = frozenset(
    {"1.2.840.10008.1.2", "1.2.840.10008.1.2.1", "1.2.840.10008.1.2.1.99", "1.2.840.10008.1.2.2"}
)


def is_lossless(transfer_syntax: str) -> bool:
    return transfer_syntax in LOSSLESS


def skipped(tag: int) -> bool:
    """Elements outside the identity: file meta, group lengths, pixel data, padding."""
    return tag >> 16 == 0x0002 or tag & 0xFFFF == 0 or tag in PIXEL_TAGS or tag == TRAILING_PADDING


class CanonicalDigest:
    """SHA-256 of a dataset's elements in one canonical encoding, fed element by element.

    Each element counts as (tag, length, value bytes in Little Endian), whatever its VR
    encoding; a sequence as its items' elements between markers, whatever their lengths.
    The parser feeds it the raw value bytes it read (no re-encoding: cheap); elements
    pydicom already decoded, and every element of a big-endian file, are encoded back.
    """

    def __init__(self, raw_is_canonical: bool = True) -> None:
        self.raw_is_canonical = raw_is_canonical
        self._hash = hashlib.sha256()

    def raw(self, tag: int, value: bytes, vr: str | None = None) -> None:
        if vr in PADDED_VRS:  # trailing spaces (NULs for UI) are padding, not value
            value = value.rstrip(b" \x00")
        self._hash.update(b"E" + tag.to_bytes(4, "little") + len(value).to_bytes(4, "little"))
        self._hash.update(value)

    def deferred(self, tag: int, path: Path, offset: int, length: int) -> None:
        self._hash.update(b"E" + tag.to_bytes(4, "little") + length.to_bytes(4, "little"))
        with path.open("rb") as fp:
            fp.seek(offset)
            while length > 0 and (chunk := fp.read(min(CHUNK, length))):
                self._hash.update(chunk)
                length -= len(chunk)

    def element(self, elem: Any, ds: Dataset) -> None:
        """A decoded (non-sequence) element: its value encoded as Implicit VR LE would be."""
        value = _simple_value(elem)
        if value is not None:  # numbers and ASCII codes: packed directly (the common case)
            self.raw(int(elem.tag), value, elem.VR)
            return
        writer = DicomBytesIO()
        writer.is_little_endian = True
        writer.is_implicit_VR = True
        try:
            elem = correct_ambiguous_vr_element(elem, ds, True)
            write_data_element(writer, elem, ds._character_set)
            value = writer.getvalue()[8:]  # after tag and length
        except Exception:  # an odd value pydicom cannot write back: its text stands for it
            value = repr(elem.value).encode("utf-8", "replace")
        self.raw(int(elem.tag), value, elem.VR)

    def begin_sequence(self, tag: int) -> None:
        self._hash.update(b"S" + tag.to_bytes(4, "little"))

    def begin_item(self) -> None:
        self._hash.update(b"I")

    def end_item(self) -> None:
        self._hash.update(b"i")

    def end_sequence(self) -> None:
        self._hash.update(b"s")

    def hexdigest(self) -> str:
        return self._hash.hexdigest()


_NUMBERS = {"US": "H", "SS": "h", "UL": "L", "SL": "l", "FL": "f", "FD": "d"}
_CODES = frozenset({"AE", "AS", "CS", "DA", "DT", "TM", "UI"})  # ASCII, no character set


def _simple_value(elem: Any) -> bytes | None:
    """The little-endian value bytes of a number or code element, None for anything else."""
    value = elem.value
    values = list(value) if isinstance(value, list | tuple | MultiValue) else [value]
    if value is None or value == "":
        values = []
    try:
        if elem.VR in _NUMBERS:
            return struct.pack(f"<{len(values)}{_NUMBERS[elem.VR]}", *values)
        if elem.VR in _CODES and all(isinstance(v, str) for v in values):
            text = "\\".join(values).encode("ascii")
            return text + b" " * (len(text) % 2)  # even length, as written
    except (struct.error, UnicodeEncodeError, TypeError):
        return None
    return None


def dataset_digest(ds: Dataset) -> str:
    """The canonical digest of a fully decoded dataset (encoding every element back)."""
    digest = CanonicalDigest(raw_is_canonical=False)
    _feed(ds, digest)
    return digest.hexdigest()


def _feed(ds: Dataset, digest: CanonicalDigest) -> None:
    for tag in sorted(ds.keys()):
        if skipped(tag):
            continue
        elem = ds[tag]
        if elem.VR == "SQ":
            digest.begin_sequence(tag)
            for item in elem.value or []:
                digest.begin_item()
                _feed(item, digest)
                digest.end_item()
            digest.end_sequence()
        else:
            digest.element(elem, ds)


def pixel_digest(
    path: Path, span: tuple[int, int] | None, ds: Dataset, transfer_syntax: str
) -> str | None:
    """SHA-256 of the pixel data value as stored, tagged native or encapsulated.

    `span` is where the value lies in `path` (parse_instance's `pixel_span`); without
    it the value is taken from `ds` (a deflated dataset is read whole). None without
    pixel data.
    """
    native = transfer_syntax in NATIVE
    digest = hashlib.sha256(b"native\x00" if native else b"encapsulated\x00")
    if span is not None:
        with path.open("rb") as fp:
            if native:
                _hash_range(fp, digest, *span)
            else:
                _hash_fragments(fp, digest, *span)
        return digest.hexdigest()
    for tag in PIXEL_TAGS:
        if tag in ds:
            digest.update(bytes(ds[tag].value or b""))
            return digest.hexdigest()
    return None


def _hash_range(fp: BinaryIO, digest: Any, start: int, end: int) -> None:
    fp.seek(start)
    remaining = end - start
    while remaining > 0 and (chunk := fp.read(min(CHUNK, remaining))):
        digest.update(chunk)
        remaining -= len(chunk)


def _hash_fragments(fp: BinaryIO, digest: Any, start: int, end: int) -> None:
    """The fragments' bytes, concatenated: how they are split, and the Basic Offset Table
    (the first item), are encoding (PS3.5 A.4); the parser checked the item structure."""
    position, first = start, True
    while position + 8 <= end:
        fp.seek(position)
        tag, length = struct.unpack("<LL", fp.read(8))
        if tag != 0xE000FFFE:  # (FFFE,E0DD) sequence delimiter: the end
            break
        if not first:
            _hash_range(fp, digest, position + 8, position + 8 + length)
        first = False
        position += 8 + length


def _pixels(path: Path) -> Any:
    from hounsfield.dicom.transcode import decode

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return decode(dcmread(path))


def same_pixels(a: Path, b: Path) -> bool:
    """Whether two files' pixel data decode to the same values (shape included).

    False when either cannot be decoded: content that cannot be compared is not the same.
    """
    try:
        first, second = _pixels(a), _pixels(b)
    except Exception:
        return False
    return bool(first.shape == second.shape and np.array_equal(first, second))
