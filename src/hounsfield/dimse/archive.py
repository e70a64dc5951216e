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

from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy.orm import Session

from hounsfield.storage import StorageUnavailable, get_storage

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


def load(row: Row) -> Dataset:
    """The stored instance, as received (for C-MOVE/C-GET sub-operations)."""
    with get_storage().open(storage_key(row)) as handle:
        return dcmread(handle)


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
    """Presentation contexts to send `rows`: one per (SOP class, transfer syntax) stored.

    Uncompressed instances can go as explicit or implicit VR little endian; compressed
    ones only as stored (we do not transcode). At most `limit` (PS3.8: 128 per association).
    """
    uncompressed = ("1.2.840.10008.1.2.1", "1.2.840.10008.1.2")
    pairs: list[tuple[str, str]] = []
    for row in rows:
        syntax = row.transfer_syntax_uid
        for option in uncompressed if syntax in uncompressed else (syntax,):
            if (row.sop_class_uid, option) not in pairs:
                pairs.append((row.sop_class_uid, option))
    return [(sop_class, [syntax]) for sop_class, syntax in pairs[:limit]]
