"""Look-ups of stored instances and series in the index: what a retrieval names.

The index is read first, in a short transaction; the objects are streamed afterwards, when
the session is already closed (CONVENTIONS.md: scope="function" sessions).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from sqlalchemy import Row, Select, select
from sqlalchemy.orm import Session

from hounsfield.auth import scope
from hounsfield.errors import NotFound
from hounsfield.studies.models import Instance, Patient, Series, Study

__all__ = [
    "InstanceRef",
    "SeriesRef",
    "StudyNotFound",
    "instances",
    "instances_after",
    "series_by_uid",
    "series_of_study",
]


class StudyNotFound(NotFound):
    """No such study, series or instance in the archive."""

    code = "study_not_found"


@dataclass(frozen=True)
class InstanceRef:
    """One stored instance, as much as a retrieval needs without opening it."""

    study_instance_uid: str
    series_instance_uid: str
    sop_instance_uid: str
    sop_class_uid: str
    transfer_syntax_uid: str
    storage_key: str
    sha256: str
    size: int
    number_of_frames: int
    rows: int | None
    columns: int | None
    bits_allocated: int | None
    instance_number: int | None
    patient_id: str
    #: The storage fingerprint at the last full SHA-256 check (None: not trusted).
    verified_fingerprint: str | None = None
    #: A full check (a read or the scrub) found the object corrupt: hash it before use.
    corrupt: bool = False


@dataclass(frozen=True)
class SeriesRef:
    """One live series and the version of its instance set (for caches)."""

    study_instance_uid: str
    series_instance_uid: str
    metadata_version: int
    number_of_instances: int
    patient_id: str


_INSTANCE_COLUMNS = (
    Study.study_instance_uid,
    Series.series_instance_uid,
    Instance.sop_instance_uid,
    Instance.sop_class_uid,
    Instance.transfer_syntax_uid,
    Instance.storage_key,
    Instance.sha256,
    Instance.size,
    Instance.number_of_frames,
    Instance.rows,
    Instance.columns,
    Instance.bits_allocated,
    Instance.instance_number,
    Patient.patient_id,
    Instance.verified_fingerprint,
    Instance.corrupt_at,
    Instance.id,
)


def _live_instances() -> Select[*tuple[Any, ...]]:
    return (
        select(*_INSTANCE_COLUMNS)
        .join(Series, Instance.series_pk == Series.id)
        .join(Study, Series.study_pk == Study.id)
        .join(Patient, Study.patient_pk == Patient.id)
        .where(
            Study.deleted_at.is_(None),
            Series.deleted_at.is_(None),
            Instance.deleted_at.is_(None),
        )
    )


def _instance_ref(r: Row[*tuple[Any, ...]]) -> InstanceRef:
    return InstanceRef(
        study_instance_uid=r[0],
        series_instance_uid=r[1],
        sop_instance_uid=r[2],
        sop_class_uid=r[3],
        transfer_syntax_uid=r[4],
        storage_key=r[5],
        sha256=r[6],
        size=r[7],
        number_of_frames=max(1, r[8] or 1),
        rows=r[9],
        columns=r[10],
        bits_allocated=r[11],
        instance_number=r[12],
        patient_id=r[13],
        verified_fingerprint=r[14],
        corrupt=r[15] is not None,
    )


def instances(
    session: Session,
    study_uid: str,
    series_uid: str | None = None,
    sop_uid: str | None = None,
) -> list[InstanceRef]:
    """The live instances of a study, series or one instance, in series/instance order.

    Raises StudyNotFound when nothing matches.
    """
    query = (
        _live_instances()
        .where(Study.study_instance_uid == study_uid, scope.visible())
        .order_by(Series.series_number, Series.id, Instance.instance_number, Instance.id)
    )
    if series_uid is not None:
        query = query.where(Series.series_instance_uid == series_uid)
    if sop_uid is not None:
        query = query.where(Instance.sop_instance_uid == sop_uid)
    rows = session.execute(query).all()
    if not rows:
        scope.explain_missing(session, study_uid)
        raise StudyNotFound()
    return [_instance_ref(r) for r in rows]


def instances_after(session: Session, after_id: int, limit: int) -> list[tuple[int, InstanceRef]]:
    """Up to `limit` live instances with an index id above `after_id`, in id order (a scan)."""
    query = _live_instances().where(Instance.id > after_id).order_by(Instance.id).limit(limit)
    return [(r[16], _instance_ref(r)) for r in session.execute(query).all()]


def _live_series() -> Select[str, str, int, int, str]:
    """Series with their study and patient, leaving out deleted studies and series."""
    return (
        select(
            Study.study_instance_uid,
            Series.series_instance_uid,
            Series.metadata_version,
            Series.number_of_instances,
            Patient.patient_id,
        )
        .join(Study, Series.study_pk == Study.id)
        .join(Patient, Study.patient_pk == Patient.id)
        .where(Study.deleted_at.is_(None), Series.deleted_at.is_(None), scope.visible())
    )


def _ref(row: Row[str, str, int, int, str]) -> SeriesRef:
    return SeriesRef(row[0], row[1], row[2], row[3], row[4])


def series_of_study(
    session: Session, study_uid: str, series_uid: str | None = None
) -> list[SeriesRef]:
    """The live series of a study (or the one named). Raises StudyNotFound if none."""
    query = (
        _live_series()
        .where(Study.study_instance_uid == study_uid)
        .order_by(Series.series_number, Series.id)
    )
    if series_uid is not None:
        query = query.where(Series.series_instance_uid == series_uid)
    rows = session.execute(query).all()
    if not rows:
        scope.explain_missing(session, study_uid)
        raise StudyNotFound()
    return [_ref(row) for row in rows]


def series_by_uid(session: Session, series_uid: str) -> SeriesRef | None:
    """One live series by its UID, whatever its study."""
    row = session.execute(_live_series().where(Series.series_instance_uid == series_uid)).first()
    return None if row is None else _ref(row)
