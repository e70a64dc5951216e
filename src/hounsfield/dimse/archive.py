"""The DIMSE side's only doors into the archive: ingest, index queries, stored objects.

Every call goes through the archive's own services (`ingest.service.ingest`,
`studies.queries.search`, the storage backend); this module only translates their results
and errors into what the DICOM services need.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import date, datetime
from typing import Any, Literal

from pydicom.dataset import Dataset
from sqlalchemy.orm import Session

from hounsfield.dicom import transcode
from hounsfield.storage import StorageUnavailable, get_storage
from hounsfield.studies import objects
from hounsfield.studies.refs import InstanceRef

logger = logging.getLogger(__name__)

Level = Literal["PATIENT", "STUDY", "SERIES", "IMAGE"]
UNIQUE_KEYS = ("PatientID", "StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID")


class BadQuery(Exception):
    """The identifier cannot be turned into a query (e.g. a malformed range)."""


class Row:
    """One match of an index query, read by DICOM keyword."""

    def __init__(self, row: Any) -> None:
        self._row = row

    def get(self, keyword: str) -> Any:
        try:
            return self._row[keyword]
        except (KeyError, IndexError, TypeError):
            return None

    def text(self, keyword: str) -> str:
        value = self.get(keyword)
        return "" if value is None else str(value)

    @property
    def sop_instance_uid(self) -> str:
        return self.text("SOPInstanceUID")

    @property
    def sop_class_uid(self) -> str:
        return self.text("SOPClassUID")

    @property
    def transfer_syntax_uid(self) -> str:
        return self.text("TransferSyntaxUID") or "1.2.840.10008.1.2.1"

    @property
    def study_instance_uid(self) -> str:
        return self.text("StudyInstanceUID")

    @property
    def patient_id(self) -> str:
        return self.text("PatientID")


def search(
    session: Session, level: str, filters: Mapping[str, str], *, limit: int | None = None
) -> list[Row]:
    """Index matches at `level` for DICOM-encoded `filters` (the QIDO-RS matching rules)."""
    from hounsfield.studies import queries

    try:
        rows, _total = queries.search(session, level, dict(filters), limit=limit)  # type: ignore[arg-type]
    except (queries.InvalidFilter, ValueError) as exc:
        raise BadQuery(str(exc)) from exc
    return [Row(row) for row in rows]


def dicom_value(row: Row, keyword: str) -> Any:
    """A row's value as pydicom wants it for `keyword` (dates as DA, lists as multi-value)."""
    value = row.get(keyword)
    if value is None:
        return None  # an empty (zero-length) element: "no value known"
    if isinstance(value, datetime):
        return value.strftime("%Y%m%d%H%M%S")
    if isinstance(value, date):
        return value.strftime("%Y%m%d")
    if isinstance(value, list | tuple):
        return [str(v) for v in value]
    return value


def storage_key(row: Row) -> str:
    key = getattr(row._row, "storage_key", None)
    if not key:
        raise LookupError("the index row names no stored object")
    return str(key)


class NotSendable(Exception):
    """An instance cannot go out: its object fails verification, or no syntax fits."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def _ref(row: Row) -> InstanceRef:
    def number(keyword: str) -> int | None:
        value = row.get(keyword)
        return int(value) if value is not None else None

    return InstanceRef(
        study_instance_uid=row.study_instance_uid,
        series_instance_uid=row.text("SeriesInstanceUID"),
        sop_instance_uid=row.sop_instance_uid,
        sop_class_uid=row.sop_class_uid,
        transfer_syntax_uid=row.transfer_syntax_uid,
        storage_key=storage_key(row),
        sha256=str(getattr(row._row, "sha256", "") or ""),
        size=int(getattr(row._row, "size", 0) or 0),
        number_of_frames=number("NumberOfFrames") or 1,
        rows=number("Rows"),
        columns=number("Columns"),
        bits_allocated=number("BitsAllocated"),
        instance_number=number("InstanceNumber"),
        patient_id=row.patient_id,
    )


def load(row: Row) -> Dataset:
    """The stored instance, as received, after its SHA-256 is checked (raises NotSendable).

    A corrupt object never leaves by DIMSE either (SECURITY.md D2).
    """
    try:
        return objects.dataset(_ref(row), cache_it=False)
    except objects.CorruptObject as exc:
        raise NotSendable("object fails its SHA-256") from exc
    except (objects.MissingObject, LookupError) as exc:
        raise NotSendable("object missing from storage") from exc
    except (StorageUnavailable, OSError) as exc:
        raise NotSendable("storage unavailable") from exc


_LE_NATIVE = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")  # explicit, implicit VR LE


def outgoing(row: Row, accepted: list[str]) -> Dataset:
    """The verified instance in a syntax the peer accepted for its SOP class.

    As stored when accepted; otherwise transcoded (decompressed to explicit VR little
    endian, or compressed losslessly where the peer asked for it; a once-lossy image stays
    marked lossy). pynetdicom itself converts between the little-endian native syntaxes.
    """
    dataset = load(row)
    stored = str(dataset.file_meta.TransferSyntaxUID)
    if stored in _LE_NATIVE and any(ts in _LE_NATIVE for ts in accepted):
        return dataset
    target = transcode.choose(stored, accepted)
    if target is None:
        raise NotSendable("no transfer syntax accepted for this object")
    try:
        return transcode.transcode(dataset, target)
    except transcode.TranscodeError as exc:
        raise NotSendable(f"cannot transcode: {exc}"[:64]) from exc


def instances_held(session: Session, sop_instance_uids: list[str]) -> dict[str, str]:
    """SOP Instance UID → SOP Class UID of those we hold: indexed and their object stored."""
    held: dict[str, str] = {}
    storage = get_storage()
    for start in range(0, len(sop_instance_uids), 200):
        chunk = sop_instance_uids[start : start + 200]
        for row in search(session, "IMAGE", {"SOPInstanceUID": "\\".join(chunk)}):
            try:
                if storage.exists(storage_key(row)):
                    held[row.sop_instance_uid] = row.sop_class_uid
            except (LookupError, StorageUnavailable):
                continue
    return held


def store_context_pairs(rows: list[Row], limit: int = 128) -> list[tuple[str, list[str]]]:
    """Presentation contexts to send `rows`: each SOP class uncompressed (explicit or implicit
    VR little endian), and as each other syntax it is stored in (sent as is when the peer
    accepts that, transcoded otherwise). At most `limit` (PS3.8: 128 per association).
    """
    pairs: list[tuple[str, tuple[str, ...]]] = []
    for row in rows:
        syntax = row.transfer_syntax_uid
        wanted: list[tuple[str, tuple[str, ...]]] = [(row.sop_class_uid, _LE_NATIVE)]
        if syntax not in _LE_NATIVE:
            wanted.insert(0, (row.sop_class_uid, (syntax,)))
        pairs.extend(pair for pair in wanted if pair not in pairs)
    return [(sop_class, list(syntaxes)) for sop_class, syntaxes in pairs[:limit]]
