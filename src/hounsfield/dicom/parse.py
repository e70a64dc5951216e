"""Header parsing and validation of one DICOM file before it enters the archive.

pydicom decodes lazily (a malformed value raises on first access, not at ``dcmread``),
keeps an executable preamble (CVE-2019-11687) and inflates a deflated dataset entirely in
memory. So this module checks sizes itself before pydicom allocates anything, reads the
header without the pixel data, then touches every element so that errors surface here,
with a reason that names tags but never their values (no PHI).
"""

from __future__ import annotations

import struct
import warnings
import zlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO

from pydicom import dcmread
from pydicom.charset import convert_encodings
from pydicom.datadict import dictionary_VR
from pydicom.dataelem import RawDataElement
from pydicom.dataset import Dataset, FileDataset
from pydicom.tag import BaseTag
from pydicom.uid import (
    DeflatedExplicitVRLittleEndian,
    ExplicitVRBigEndian,
    ImplicitVRLittleEndian,
)

from hounsfield.dicom.charset import TEXT_VRS, guess_character_set
from hounsfield.dicom.uids import is_valid_uid
from hounsfield.errors import Unprocessable

__all__ = [
    "PREAMBLE_LENGTH",
    "InvalidInstance",
    "ParseLimits",
    "ParsedInstance",
    "parse_instance",
    "sanitize_preamble",
]

PREAMBLE_LENGTH = 128
DICM = b"DICM"
PIXEL_TAGS = {0x7FE00010: None, 0x7FE00008: 32, 0x7FE00009: 64}  # tag → fixed bits, if any
ITEM, SEQUENCE_DELIMITER = 0xFFFEE000, 0xFFFEE0DD
UNDEFINED = 0xFFFFFFFF
# PS3.5 §7.1.2: the explicit VRs pixel data may have (all with a 4-byte length).
PIXEL_VRS = {b"OB", b"OD", b"OF", b"OL", b"OV", b"OW", b"UN"}
# TIFF magic numbers: the one non-DICOM use of the preamble PS3.10 §7.5 names.
TIFF_MAGIC = (b"II*\x00", b"MM\x00*")
NOT_DICOM = "not a DICOM file (no DICM prefix and not a readable dataset)"
REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")


class InvalidInstance(Unprocessable):
    """The file is not a DICOM instance the archive can accept."""

    code = "invalid_instance"

    def __init__(self, reason: str) -> None:
        super().__init__(reason, details={"reason": reason})
        self.reason = reason


@dataclass(frozen=True)
class ParseLimits:
    """Size limits checked before anything is allocated.

    Attributes
    ----------
    max_pixel_bytes : int
        Largest Rows × Columns × Samples × Frames × BitsAllocated / 8 accepted.
    max_inflated_bytes : int
        Largest inflated size of a Deflated Explicit VR Little Endian dataset.
    max_inflate_ratio : int
        Largest inflated / deflated size ratio of such a dataset.
    max_raw_dataset_bytes : int
        Largest file without a DICM prefix (a bare dataset), which is read whole.
    defer_size : int
        Elements longer than this are bounds-checked but not read into memory.
    """

    max_pixel_bytes: int = 4 * 1024**3
    max_inflated_bytes: int = 256 * 1024**2
    max_inflate_ratio: int = 100
    max_raw_dataset_bytes: int = 256 * 1024**2
    defer_size: int = 256 * 1024


@dataclass
class ParsedInstance:
    """What validation learned about one file.

    Attributes
    ----------
    dataset : pydicom.dataset.Dataset
        The header (no pixel data), every element already decoded.
    transfer_syntax_uid : str
        From the file meta information (Implicit VR Little Endian for a bare dataset).
    part10 : bool
        ``False`` for a bare dataset without preamble and file meta information.
    warnings : list of str
        PHI-free notes (e.g. a guessed character set).
    """

    dataset: Dataset
    transfer_syntax_uid: str
    part10: bool
    warnings: list[str] = field(default_factory=list)

    @property
    def sop_class_uid(self) -> str:
        return str(self.dataset.SOPClassUID)

    @property
    def sop_instance_uid(self) -> str:
        return str(self.dataset.SOPInstanceUID)

    @property
    def study_instance_uid(self) -> str:
        return str(self.dataset.StudyInstanceUID)

    @property
    def series_instance_uid(self) -> str:
        return str(self.dataset.SeriesInstanceUID)


def sanitize_preamble(head: bytes) -> tuple[bytes, bool]:
    """Zero a non-empty preamble of a Part 10 file (CVE-2019-11687 polyglots).

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at least 132 to decide anything).

    Returns
    -------
    tuple of (bytes, bool)
        `head` with bytes 0-127 set to zero, and ``True``, when bytes 128-131 are ``DICM``
        and the preamble is neither all zeros nor a TIFF header (PS3.10 §7.5); otherwise
        `head` unchanged and ``False``. An ``MZ`` or ``\\x7fELF`` executable header is
        thus never stored.
    """
    if len(head) < PREAMBLE_LENGTH + 4 or head[PREAMBLE_LENGTH : PREAMBLE_LENGTH + 4] != DICM:
        return head, False
    preamble = head[:PREAMBLE_LENGTH]
    if not any(preamble) or preamble[:4] in TIFF_MAGIC:
        return head, False
    return bytes(PREAMBLE_LENGTH) + head[PREAMBLE_LENGTH:], True


def parse_instance(path: Path, limits: ParseLimits | None = None) -> ParsedInstance:
    """Read and validate the header of one DICOM file without loading its pixel data.

    Parameters
    ----------
    path : pathlib.Path
        The file (a Part 10 file, or a bare dataset in Implicit/Explicit VR Little Endian).
    limits : ParseLimits, optional
        Size limits; the defaults if omitted.

    Returns
    -------
    ParsedInstance
        The decoded header and what was learned about it.

    Raises
    ------
    InvalidInstance
        Not DICOM, truncated, malformed elements, pixel data inconsistent with the image
        attributes, a deflate bomb, or missing/invalid SOP Class, SOP Instance, Study or
        Series Instance UID. The reason names tags, never values.
    """
    limits = limits or ParseLimits()
    size = path.stat().st_size
    with path.open("rb") as fp:
        head = fp.read(PREAMBLE_LENGTH + 4)
    part10 = head[PREAMBLE_LENGTH:] == DICM
    if part10:
        return _guarded(path, size, True, limits)
    if size > limits.max_raw_dataset_bytes:
        raise InvalidInstance(NOT_DICOM)
    try:
        return _guarded(path, size, False, limits)
    except InvalidInstance as exc:  # whatever broke, a file without DICM was not DICOM
        raise InvalidInstance(NOT_DICOM) from exc


def _guarded(path: Path, size: int, part10: bool, limits: ParseLimits) -> ParsedInstance:
    """`_parse`, with any error pydicom raises on malformed input turned into a refusal."""
    try:
        return _parse(path, size, part10, limits)
    except InvalidInstance:
        raise
    except Exception as exc:  # a parser bug on hostile input must not become a 500
        raise InvalidInstance("malformed DICOM data") from exc


def _parse(path: Path, size: int, part10: bool, limits: ParseLimits) -> ParsedInstance:
    notes: list[str] = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        transfer_syntax = _transfer_syntax(path) if part10 else str(ImplicitVRLittleEndian)
        if transfer_syntax == DeflatedExplicitVRLittleEndian:
            _check_inflated_size(path, size, limits)
            ds = _read(path, part10, defer_size=None, stop_before_pixels=False)
            _check_pixels_in_memory(ds, transfer_syntax, limits)
        else:
            with path.open("rb") as fp:
                ds = _read(fp, part10, defer_size=limits.defer_size, stop_before_pixels=True)
                pixel_start = fp.tell()
                _check_pixels_on_disk(fp, pixel_start, size, ds, transfer_syntax, limits)
        if not part10:
            file_meta = getattr(ds, "file_meta", None)
            found = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
            transfer_syntax = str(found or ImplicitVRLittleEndian)
        if "SpecificCharacterSet" not in ds:
            guessed = guess_character_set(_raw_text_values(ds))
            if guessed is not None:
                ds.SpecificCharacterSet = guessed
                notes.append(f"no Specific Character Set; text decoded as {guessed}")
                _decode_as(ds, convert_encodings(guessed))
        _touch_all(ds, size)
    _check_required(ds)
    meta_uid = getattr(ds, "file_meta", Dataset()).get("MediaStorageSOPInstanceUID")
    if part10 and meta_uid is not None and str(meta_uid) != str(ds.SOPInstanceUID):
        notes.append("file meta SOP Instance UID differs from the dataset's")
    return ParsedInstance(ds, transfer_syntax, part10, notes)


def _transfer_syntax(path: Path) -> str:
    try:
        with path.open("rb") as fp:
            fp.seek(PREAMBLE_LENGTH + 4)
            meta = _file_meta(fp)
    except Exception as exc:
        raise InvalidInstance("unreadable file meta information") from exc
    uid = meta.get("TransferSyntaxUID")
    if uid is None or not is_valid_uid(str(uid)):
        raise InvalidInstance("missing or invalid Transfer Syntax UID in the file meta")
    return str(uid)


def _file_meta(fp: BinaryIO) -> Dataset:
    from pydicom.filereader import _read_file_meta_info

    return _read_file_meta_info(fp)


def _read(
    source: Path | BinaryIO, part10: bool, *, defer_size: int | None, stop_before_pixels: bool
) -> Dataset:
    try:
        ds: FileDataset = dcmread(
            source,
            defer_size=defer_size,
            stop_before_pixels=stop_before_pixels,
            force=not part10,
        )
    except Exception as exc:
        reason = "not a DICOM file" if not part10 else "malformed or truncated DICOM data"
        raise InvalidInstance(reason) from exc
    if len(ds) == 0:
        raise InvalidInstance("not a DICOM file" if not part10 else "empty DICOM dataset")
    return ds


def _check_inflated_size(path: Path, size: int, limits: ParseLimits) -> None:
    """Stream-inflate a deflated dataset, counting bytes, before pydicom inflates it whole."""
    with path.open("rb") as fp:
        fp.seek(PREAMBLE_LENGTH + 4)
        try:
            _file_meta(fp)
        except Exception as exc:
            raise InvalidInstance("unreadable file meta information") from exc
        deflated = max(size - fp.tell(), 1)
        cap = min(limits.max_inflated_bytes, deflated * limits.max_inflate_ratio)
        inflater = zlib.decompressobj(-zlib.MAX_WBITS)
        total = 0
        while True:
            chunk = fp.read(1 << 16)
            if not chunk:
                break
            try:
                while chunk:
                    out = inflater.decompress(chunk, 1 << 20)
                    total += len(out)
                    if total > cap:
                        raise InvalidInstance("deflated dataset inflates beyond the allowed size")
                    chunk = inflater.unconsumed_tail
            except zlib.error as exc:
                raise InvalidInstance("corrupt deflated dataset") from exc


def _expected_pixel_bytes(ds: Dataset, tag: int, limits: ParseLimits) -> int:
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        bits = PIXEL_TAGS[tag] or int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception as exc:
        raise InvalidInstance("pixel data without valid Rows, Columns or BitsAllocated") from exc
    if min(rows, columns, bits, samples, frames) < 1:
        raise InvalidInstance("pixel data with zero or negative image dimensions")
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
        samples = 2  # PS3.5 §8.2.1: 4:2:2 native data holds two samples per pixel
    total_bits = rows * columns * samples * frames * bits
    expected = (total_bits + 7) // 8
    if expected > limits.max_pixel_bytes:
        raise InvalidInstance("image dimensions exceed the allowed pixel data size")
    return expected


def _is_encapsulated(transfer_syntax: str) -> bool:
    from pydicom.uid import UID

    try:
        return bool(UID(transfer_syntax).is_compressed)
    except Exception:
        return False


def _check_pixels_on_disk(
    fp: BinaryIO, start: int, size: int, ds: Dataset, transfer_syntax: str, limits: ParseLimits
) -> None:
    """Check the pixel data element at `start` against the file and the image attributes."""
    if size - start < 8:
        return  # no pixel data (SR, KOS, PR, ...)
    end = ">" if transfer_syntax == ExplicitVRBigEndian else "<"
    fp.seek(start)
    header = fp.read(12)
    group, element = struct.unpack(end + "HH", header[:4])
    tag = group << 16 | element
    if tag not in PIXEL_TAGS:
        return  # stop_before_pixels ended elsewhere (e.g. at end of data)
    # Decide explicit or implicit VR from the bytes, as pydicom does: some senders write
    # implicit VR under an explicit transfer syntax.
    if header[4:6] in PIXEL_VRS:
        if len(header) < 12:
            raise InvalidInstance("pixel data element truncated")
        (length,) = struct.unpack(end + "L", header[8:12])
        value_start = start + 12
    else:
        (length,) = struct.unpack(end + "L", header[4:8])
        value_start = start + 8
    expected = _expected_pixel_bytes(ds, tag, limits)
    if length != UNDEFINED:
        if value_start + length > size:
            raise InvalidInstance("pixel data truncated (shorter than its declared length)")
        if not _is_encapsulated(transfer_syntax) and length < expected:
            raise InvalidInstance("pixel data shorter than Rows × Columns × Frames × Bits")
        return
    if not _is_encapsulated(transfer_syntax):
        raise InvalidInstance("undefined-length pixel data in a native transfer syntax")
    _walk_fragments(fp, value_start, size, end)


def _walk_fragments(fp: BinaryIO, position: int, size: int, end: str) -> None:
    """Walk encapsulated pixel data items (PS3.5 §A.4) by their headers, reading no data."""
    items = 0
    while True:
        if position + 8 > size:
            raise InvalidInstance("encapsulated pixel data truncated")
        fp.seek(position)
        group, element, length = struct.unpack(end + "HHL", fp.read(8))
        tag = group << 16 | element
        if tag == SEQUENCE_DELIMITER:
            return
        if tag != ITEM or length == UNDEFINED:
            raise InvalidInstance("malformed encapsulated pixel data")
        position += 8 + length
        if position > size:
            raise InvalidInstance("encapsulated pixel data truncated")
        items += 1
        if items > 10_000_000:
            raise InvalidInstance("too many pixel data fragments")


def _check_pixels_in_memory(ds: Dataset, transfer_syntax: str, limits: ParseLimits) -> None:
    for tag in PIXEL_TAGS:
        if tag in ds:
            expected = _expected_pixel_bytes(ds, tag, limits)
            value = ds[tag].value
            if not _is_encapsulated(transfer_syntax) and len(value or b"") < expected:
                raise InvalidInstance("pixel data shorter than Rows × Columns × Frames × Bits")


def _raw_text_values(ds: Dataset) -> list[bytes]:
    values: list[bytes] = []
    for tag in list(ds.keys()):
        elem = ds.get_item(tag, keep_deferred=True)
        if isinstance(elem, RawDataElement) and isinstance(elem.value, bytes):
            vr = elem.VR
            if vr is None:
                try:
                    vr = dictionary_VR(tag)
                except KeyError:
                    continue
            if vr in TEXT_VRS:
                values.append(elem.value)
    return values


def _decode_as(ds: Dataset, encodings: list[str]) -> None:
    """Make pydicom decode the not-yet-decoded text of `ds` (and its items) as `encodings`."""
    ds._read_charset = encodings
    for tag in list(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        if isinstance(raw, RawDataElement) or raw is None or raw.VR != "SQ":
            continue
        for item in raw.value or []:
            _decode_as(item, encodings)


def _touch_all(ds: Dataset, size: int) -> None:
    """Decode every element (recursing into sequences) so malformed values raise now."""
    for tag in list(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        if (
            isinstance(raw, RawDataElement)
            and raw.value is None
            and raw.length not in (0, UNDEFINED)
        ):
            if raw.value_tell + raw.length > size:
                raise InvalidInstance(f"element {_tag(tag)} truncated")
            continue  # deferred (large): bounds-checked, not loaded
        try:
            elem = ds[tag]
            value = elem.value
        except InvalidInstance:
            raise
        except Exception as exc:
            raise InvalidInstance(f"malformed element {_tag(tag)}") from exc
        if elem.VR == "SQ":
            for item in value or []:
                _touch_all(item, size)


def _tag(tag: int) -> str:
    t = BaseTag(tag)
    return f"({t.group:04X},{t.element:04X})"


def _check_required(ds: Dataset) -> None:
    for keyword in REQUIRED_UIDS:
        value = ds.get(keyword)
        if value is None or str(value).strip() == "":
            raise InvalidInstance(f"missing {keyword}")
        if not is_valid_uid(str(value)):
            raise InvalidInstance(f"invalid {keyword} (not a DICOM UID)")
