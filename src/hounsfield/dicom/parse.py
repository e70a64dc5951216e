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

from hounsfield.dicom import identity
from hounsfield.dicom.charset import TEXT_VRS, guess_character_set
from hounsfield.dicom.identity import CanonicalDigest
from hounsfield.dicom.uids import is_valid_uid

__all__ = [
    "PREAMBLE_LENGTH",
    "REASONS",
    "InvalidInstance",
    "Note",
    "ParseLimits",
    "ParsedInstance",
    "looks_like_bare_dataset",
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
REQUIRED_UIDS = ("SOPClassUID", "SOPInstanceUID", "StudyInstanceUID", "SeriesInstanceUID")

# Why a file is refused, or what was noted about it: a stable code → English text. The text
# names tags or keywords, never values (no PHI); the edge translates by the code.
REASONS = {
    "not_dicom": "not a DICOM file (no DICM prefix and not a readable dataset)",
    "malformed": "malformed DICOM data",
    "malformed_or_truncated": "malformed or truncated DICOM data",
    "empty_dataset": "empty DICOM dataset",
    "unreadable_meta": "unreadable file meta information",
    "bad_transfer_syntax": "missing or invalid Transfer Syntax UID in the file meta",
    "deflate_bomb": "deflated dataset inflates beyond the allowed size",
    "corrupt_deflate": "corrupt deflated dataset",
    "pixel_attributes_invalid": "pixel data without valid Rows, Columns or BitsAllocated",
    "pixel_dimensions_invalid": "pixel data with zero or negative image dimensions",
    "pixel_too_large": "image dimensions exceed the allowed pixel data size",
    "pixel_truncated": "pixel data truncated (shorter than its declared length)",
    "pixel_short": "pixel data shorter than Rows x Columns x Frames x Bits",
    "pixel_undefined_length": "undefined-length pixel data in a native transfer syntax",
    "fragments_truncated": "encapsulated pixel data truncated",
    "fragments_malformed": "malformed encapsulated pixel data",
    "fragments_too_many": "too many pixel data fragments",
    "element_truncated": "element {tag} truncated (longer than the remaining bytes)",
    "element_malformed": "malformed element {tag}",
    "uid_missing": "missing {keyword}",
    "uid_invalid": "invalid {keyword} (not a DICOM UID)",
    "attributes_malformed": "malformed attribute values",
    "bare_dataset_unreadable": "not a DICOM file (bare dataset could not be read)",
    # notes (the instance is stored)
    "charset_guessed": "no Specific Character Set; text decoded as {charset}",
    "meta_uid_differs": "file meta SOP Instance UID differs from the dataset's",
    "preamble_zeroed": "non-DICOM preamble replaced by zeros",
    "bare_dataset": "bare dataset stored with file meta information",
}


@dataclass(frozen=True)
class Note:
    """A reason by code, with its parameters (tags, keywords, charset names: never PHI)."""

    code: str
    params: tuple[tuple[str, str], ...] = ()

    def __init__(self, code: str, **params: str) -> None:
        object.__setattr__(self, "code", code)
        object.__setattr__(self, "params", tuple(sorted(params.items())))

    @property
    def reason(self) -> str:
        """The English text."""
        return REASONS[self.code].format(**dict(self.params))


class InvalidInstance(ValueError):
    """The file is not a DICOM instance the archive can accept (a domain error, no HTTP)."""

    def __init__(self, code: str, **params: str) -> None:
        self.note = Note(code, **params)
        self.code = code
        self.reason = self.note.reason
        super().__init__(self.reason)


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
    warnings : list of Note
        PHI-free notes (e.g. a guessed character set).
    pixel_span : tuple of (int, int), optional
        Where the pixel data element's value lies in the file (start, end), when it was
        left on disk (None without pixel data, or when `dataset` holds it).
    dataset_digest : str
        The identity of the dataset but its pixel data (see `hounsfield.dicom.identity`).
    """

    dataset: Dataset
    transfer_syntax_uid: str
    part10: bool
    warnings: list[Note] = field(default_factory=list)
    pixel_span: tuple[int, int] | None = None
    dataset_digest: str = ""

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
    if size > limits.max_raw_dataset_bytes or not looks_like_bare_dataset(head):
        raise InvalidInstance("not_dicom")  # refused before any parsing (issue 14.11)
    try:
        return _guarded(path, size, False, limits)
    except InvalidInstance as exc:  # whatever broke, a file without DICM was not DICOM
        raise InvalidInstance("not_dicom") from exc


def looks_like_bare_dataset(head: bytes) -> bool:
    """Whether bytes without a DICM prefix can start a dataset, judged by the first tag.

    Parameters
    ----------
    head : bytes
        The first bytes of the file (at least 4).

    Returns
    -------
    bool
        ``True`` when the first tag's group (little endian) is even and between 0x0002 and
        0x7FE0, as every dataset's first element is; ``False`` for zeros, text and the
        like, which are then refused without being parsed.
    """
    if len(head) < 8:
        return False
    group = int.from_bytes(head[:2], "little")
    return group % 2 == 0 and 0x0002 <= group <= 0x7FE0


def _guarded(path: Path, size: int, part10: bool, limits: ParseLimits) -> ParsedInstance:
    """`_parse`, with any error pydicom raises on malformed input turned into a refusal."""
    try:
        return _parse(path, size, part10, limits)
    except InvalidInstance:
        raise
    except Exception as exc:  # a parser bug on hostile input must not become a 500
        raise InvalidInstance("malformed") from exc


def _parse(path: Path, size: int, part10: bool, limits: ParseLimits) -> ParsedInstance:
    notes: list[Note] = []
    span: tuple[int, int] | None = None
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
                span = _check_pixels_on_disk(fp, pixel_start, size, ds, transfer_syntax, limits)
        if not part10:
            file_meta = getattr(ds, "file_meta", None)
            found = file_meta.get("TransferSyntaxUID") if file_meta is not None else None
            transfer_syntax = str(found or ImplicitVRLittleEndian)
        if "SpecificCharacterSet" not in ds:
            guessed = guess_character_set(_raw_text_values(ds))
            if guessed is not None:
                ds.SpecificCharacterSet = guessed
                notes.append(Note("charset_guessed", charset=guessed))
                _decode_as(ds, convert_encodings(guessed))
        digest = CanonicalDigest(raw_is_canonical=transfer_syntax != ExplicitVRBigEndian)
        _touch_all(ds, size, path, digest)
    _check_required(ds)
    meta_uid = getattr(ds, "file_meta", Dataset()).get("MediaStorageSOPInstanceUID")
    if part10 and meta_uid is not None and str(meta_uid) != str(ds.SOPInstanceUID):
        notes.append(Note("meta_uid_differs"))
    return ParsedInstance(ds, transfer_syntax, part10, notes, span, digest.hexdigest())


def _transfer_syntax(path: Path) -> str:
    try:
        with path.open("rb") as fp:
            fp.seek(PREAMBLE_LENGTH + 4)
            meta = _file_meta(fp)
    except Exception as exc:
        raise InvalidInstance("unreadable_meta") from exc
    uid = meta.get("TransferSyntaxUID")
    if uid is None or not is_valid_uid(str(uid)):
        raise InvalidInstance("bad_transfer_syntax")
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
        code = "not_dicom" if not part10 else "malformed_or_truncated"
        raise InvalidInstance(code) from exc
    if len(ds) == 0:
        raise InvalidInstance("not_dicom" if not part10 else "empty_dataset")
    return ds


def _check_inflated_size(path: Path, size: int, limits: ParseLimits) -> None:
    """Stream-inflate a deflated dataset, counting bytes, before pydicom inflates it whole."""
    with path.open("rb") as fp:
        fp.seek(PREAMBLE_LENGTH + 4)
        try:
            _file_meta(fp)
        except Exception as exc:
            raise InvalidInstance("unreadable_meta") from exc
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
                        raise InvalidInstance("deflate_bomb")
                    chunk = inflater.unconsumed_tail
            except zlib.error as exc:
                raise InvalidInstance("corrupt_deflate") from exc


def _expected_pixel_bytes(ds: Dataset, tag: int, limits: ParseLimits) -> int:
    try:
        rows, columns = int(ds.Rows), int(ds.Columns)
        bits = PIXEL_TAGS[tag] or int(ds.BitsAllocated)
        samples = int(ds.get("SamplesPerPixel", 1) or 1)
        frames = int(ds.get("NumberOfFrames", 1) or 1)
    except Exception as exc:
        raise InvalidInstance("pixel_attributes_invalid") from exc
    if min(rows, columns, bits, samples, frames) < 1:
        raise InvalidInstance("pixel_dimensions_invalid")
    if str(ds.get("PhotometricInterpretation", "")) == "YBR_FULL_422":
        samples = 2  # PS3.5 §8.2.1: 4:2:2 native data holds two samples per pixel
    total_bits = rows * columns * samples * frames * bits
    expected = (total_bits + 7) // 8
    if expected > limits.max_pixel_bytes:
        raise InvalidInstance("pixel_too_large")
    return expected


def _is_encapsulated(transfer_syntax: str) -> bool:
    from pydicom.uid import UID

    try:
        return bool(UID(transfer_syntax).is_compressed)
    except Exception:
        return False


def _check_pixels_on_disk(
    fp: BinaryIO, start: int, size: int, ds: Dataset, transfer_syntax: str, limits: ParseLimits
) -> tuple[int, int] | None:
    """Check the pixel data element at `start` against the file and the image attributes.

    Returns where its value lies (start, end), None without pixel data.
    """
    if size - start < 8:
        return None  # no pixel data (SR, KOS, PR, ...)
    end = ">" if transfer_syntax == ExplicitVRBigEndian else "<"
    fp.seek(start)
    header = fp.read(12)
    group, element = struct.unpack(end + "HH", header[:4])
    tag = group << 16 | element
    if tag not in PIXEL_TAGS:
        return None  # stop_before_pixels ended elsewhere (e.g. at end of data)
    # Decide explicit or implicit VR from the bytes, as pydicom does: some senders write
    # implicit VR under an explicit transfer syntax.
    if header[4:6] in PIXEL_VRS:
        if len(header) < 12:
            raise InvalidInstance("pixel_truncated")
        (length,) = struct.unpack(end + "L", header[8:12])
        value_start = start + 12
    else:
        (length,) = struct.unpack(end + "L", header[4:8])
        value_start = start + 8
    expected = _expected_pixel_bytes(ds, tag, limits)
    if length != UNDEFINED:
        if value_start + length > size:
            raise InvalidInstance("pixel_truncated")
        if not _is_encapsulated(transfer_syntax) and length < expected:
            raise InvalidInstance("pixel_short")
        return value_start, value_start + length
    if not _is_encapsulated(transfer_syntax):
        raise InvalidInstance("pixel_undefined_length")
    return value_start, _walk_fragments(fp, value_start, size, end)


def _walk_fragments(fp: BinaryIO, position: int, size: int, end: str) -> int:
    """Walk encapsulated pixel data items (PS3.5 §A.4) by their headers, reading no data.

    Returns the position after the sequence delimiter.
    """
    items = 0
    while True:
        if position + 8 > size:
            raise InvalidInstance("fragments_truncated")
        fp.seek(position)
        group, element, length = struct.unpack(end + "HHL", fp.read(8))
        tag = group << 16 | element
        if tag == SEQUENCE_DELIMITER:
            return position + 8
        if tag != ITEM or length == UNDEFINED:
            raise InvalidInstance("fragments_malformed")
        position += 8 + length
        if position > size:
            raise InvalidInstance("fragments_truncated")
        items += 1
        if items > 10_000_000:
            raise InvalidInstance("fragments_too_many")


def _check_pixels_in_memory(ds: Dataset, transfer_syntax: str, limits: ParseLimits) -> None:
    for tag in PIXEL_TAGS:
        if tag in ds:
            expected = _expected_pixel_bytes(ds, tag, limits)
            value = ds[tag].value
            if not _is_encapsulated(transfer_syntax) and len(value or b"") < expected:
                raise InvalidInstance("pixel_short")


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


def _touch_all(ds: Dataset, size: int, path: Path, digest: CanonicalDigest) -> None:
    """Decode every element (recursing into sequences) so malformed values raise now.

    On the way, each element (but those outside the identity) feeds `digest`, from the
    raw bytes read where they are canonical.
    """
    for tag in sorted(ds.keys()):
        raw = ds.get_item(tag, keep_deferred=True)
        counted = not identity.skipped(tag)
        if (
            isinstance(raw, RawDataElement)
            and raw.value is None
            and raw.length not in (0, UNDEFINED)
        ):
            if raw.value_tell + raw.length > size:
                raise InvalidInstance("element_truncated", tag=_tag(tag))
            if not _is_sequence(raw):  # deferred (large): bounds-checked, hashed, not loaded
                if counted:
                    digest.deferred(tag, path, raw.value_tell, raw.length)
                continue
        if (
            isinstance(raw, RawDataElement)
            and isinstance(raw.value, bytes)
            and raw.length != UNDEFINED
            and len(raw.value) < raw.length
        ):  # pydicom reads what is left of an element longer than the file
            raise InvalidInstance("element_truncated", tag=_tag(tag))
        try:
            elem = ds[tag]
            value = elem.value
        except InvalidInstance:
            raise
        except Exception as exc:
            raise InvalidInstance("element_malformed", tag=_tag(tag)) from exc
        if elem.VR == "SQ":
            if counted:
                digest.begin_sequence(tag)
            for item in value or []:
                digest.begin_item()
                _touch_all(item, size, path, digest)
                digest.end_item()
            if counted:
                digest.end_sequence()
        elif not counted:
            continue
        elif (
            digest.raw_is_canonical
            and isinstance(raw, RawDataElement)
            and isinstance(raw.value, bytes)
        ):
            digest.raw(tag, raw.value, elem.VR)
        else:
            digest.element(elem, ds)


def _is_sequence(raw: RawDataElement) -> bool:
    """A (large, deferred) sequence: its items are read, as any sequence's, not its bytes."""
    if raw.VR is not None:
        return raw.VR == "SQ"
    try:
        return dictionary_VR(raw.tag) == "SQ"
    except KeyError:
        return False


def _tag(tag: int) -> str:
    t = BaseTag(tag)
    return f"({t.group:04X},{t.element:04X})"


def _check_required(ds: Dataset) -> None:
    for keyword in REQUIRED_UIDS:
        value = ds.get(keyword)
        if value is None or str(value).strip() == "":
            raise InvalidInstance("uid_missing", keyword=keyword)
        if not is_valid_uid(str(value)):
            raise InvalidInstance("uid_invalid", keyword=keyword)
