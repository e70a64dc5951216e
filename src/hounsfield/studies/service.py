"""The Studies service: listing, reading and deleting studies of the index.

Every read of patient data is audited (`image.query` per search, `image.read` per study),
every deletion too (`image.delete`). Deleting is soft: the rows get `deleted_at` and vanish
from every query at once; `purge_deleted` later removes rows and objects.
"""

from __future__ import annotations

import contextvars
import logging
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any, Literal

from sqlalchemy import ColumnElement, func, or_, select, update
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth import scope
from hounsfield.db import after_commit, utcnow
from hounsfield.dicom.charset import normalize_text
from hounsfield.errors import NotFound
from hounsfield.storage import get_storage
from hounsfield.studies import queries
from hounsfield.studies.models import Instance, Patient, Series, Study
from hounsfield.studies.refs import StudyNotFound

logger = logging.getLogger(__name__)

SORTS: dict[str, Any] = {
    "study_date": Study.study_date,
    "patient_name": Patient.patient_name,
    "patient_id": Patient.patient_id,
    "accession_number": Study.accession_number,
    "modalities": Study.modalities_in_study,
    "received_at": Study.received_at,
}
SortKey = Literal[
    "study_date", "-study_date", "patient_name", "-patient_name", "patient_id", "-patient_id",
    "accession_number", "-accession_number", "modalities", "-modalities",
    "received_at", "-received_at",
]  # fmt: skip


class SeriesNotFound(NotFound):
    """No such series in this study."""

    code = "series_not_found"


class InstanceNotFound(NotFound):
    """No such instance in this series."""

    code = "instance_not_found"


@dataclass(frozen=True)
class StudyFilters:
    q: str | None = None
    patient_id: str | None = None
    patient_name: str | None = None
    accession_number: str | None = None
    modality: str | None = None
    study_date_from: date | None = None
    study_date_to: date | None = None


def _search_words(text: str) -> str:
    return " ".join(normalize_text(text).replace("^", " ").replace("=", " ").split())


def _conditions(filters: StudyFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = [Study.deleted_at.is_(None)]
    if filters.q and filters.q.strip():
        words = _search_words(filters.q)
        needle = filters.q.strip().lower()
        where.append(
            or_(
                queries.contains_text(Patient.name_search, words),
                queries.contains_text(func.lower(Patient.patient_id), needle),
                queries.contains_text(func.lower(Study.accession_number), needle),
            )
        )
    if filters.patient_id:
        where.append(queries.conditions("STUDY", {"PatientID": filters.patient_id})[0])
    if filters.patient_name and _search_words(filters.patient_name):
        # Each word starts a name component, in any group: "zhang", "张伟", "wei zh".
        where.extend(
            Patient.name_search.like("% " + queries.like_pattern(w) + "%", escape="/")
            for w in _search_words(filters.patient_name).split()
        )
    if filters.accession_number:
        where.append(queries.conditions("STUDY", {"AccessionNumber": filters.accession_number})[0])
    if filters.modality:
        where.append(queries.conditions("STUDY", {"ModalitiesInStudy": filters.modality})[0])
    if filters.study_date_from:
        where.append(Study.study_date >= filters.study_date_from)
    if filters.study_date_to:
        where.append(Study.study_date <= filters.study_date_to)
    return where


def list_studies(
    session: Session,
    actor: Actor | None,
    filters: StudyFilters,
    *,
    sort: str = "-study_date",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[tuple[Study, Patient]], int]:
    """One page of the worklist and the total number of matching studies (audited)."""
    descending = sort.startswith("-")
    column = SORTS[sort.lstrip("-")]
    where = _conditions(filters)
    base = (
        select(Study, Patient)
        .join(Patient, Study.patient_pk == Patient.id)
        .where(*where, scope.visible())
    )
    total = session.scalar(
        select(func.count()).select_from(base.with_only_columns(Study.id).subquery())
    )
    order = column.desc() if descending else column.asc()
    tiebreak = Study.id.desc() if descending else Study.id.asc()
    rows = session.execute(
        base.order_by(column.is_(None), order, tiebreak).limit(limit).offset(offset)
    ).all()
    used = sorted(k for k, v in vars(filters).items() if v not in (None, ""))
    # In a transaction of its own: the read stays a read (concurrent on SQLite's WAL).
    audit.record_now(
        "image.query", actor, resource_type="study",
        detail={"filters": used, "sort": sort, "returned": len(rows), "total": total},
    )  # fmt: skip
    return [(study, patient) for study, patient in rows], int(total or 0)


def _study(session: Session, study_uid: str, *, lock: bool = False) -> Study:
    query = select(Study).where(
        Study.study_instance_uid == study_uid, Study.deleted_at.is_(None), scope.visible()
    )
    if lock:  # the ingest locks the study first too: no deadlock, no count drift
        query = query.with_for_update().execution_options(populate_existing=True)
    study = session.scalar(query)
    if study is None:
        scope.explain_missing(session, study_uid)
        raise StudyNotFound()
    return study


def get_study(session: Session, actor: Actor | None, study_uid: str) -> tuple[Study, list[Series]]:
    """A study with its live series, ordered by series number (audited)."""
    study = _study(session, study_uid)
    series = session.scalars(
        select(Series)
        .where(Series.study_pk == study.id, Series.deleted_at.is_(None))
        .order_by(Series.series_number.is_(None), Series.series_number, Series.id)
    ).all()
    audit.record_now(
        "image.read", actor, resource_type="study", resource_id=study_uid,
        patient_id=study.patient.patient_id or None,
    )  # fmt: skip
    return study, list(series)


def delete_study(session: Session, actor: Actor | None, study_uid: str) -> None:
    """Soft-delete a study with its series and instances (hidden from every query at once)."""
    study = _study(session, study_uid, lock=True)
    now = utcnow()
    series_pks = select(Series.id).where(Series.study_pk == study.id)
    session.execute(
        update(Instance)
        .where(Instance.series_pk.in_(series_pks), Instance.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    session.execute(
        update(Series)
        .where(Series.study_pk == study.id, Series.deleted_at.is_(None))
        .values(deleted_at=now, metadata_version=Series.metadata_version + 1)
        .execution_options(synchronize_session=False)
    )
    study.deleted_at = now
    _audit_delete(session, actor, study, {"level": "study"})


def delete_series(session: Session, actor: Actor | None, study_uid: str, series_uid: str) -> None:
    """Soft-delete one series and its instances; the study goes too if nothing is left."""
    study = _study(session, study_uid, lock=True)
    series = session.scalar(
        select(Series).where(
            Series.series_instance_uid == series_uid,
            Series.study_pk == study.id,
            Series.deleted_at.is_(None),
        )
    )
    if series is None:
        raise SeriesNotFound()
    now = utcnow()
    session.execute(
        update(Instance)
        .where(Instance.series_pk == series.id, Instance.deleted_at.is_(None))
        .values(deleted_at=now)
        .execution_options(synchronize_session=False)
    )
    series.deleted_at = now
    series.metadata_version += 1
    session.flush()
    _after_partial_delete(session, study, series)
    _audit_delete(session, actor, study, {"level": "series", "series_instance_uid": series_uid})


def delete_instance(
    session: Session, actor: Actor | None, study_uid: str, series_uid: str, sop_uid: str
) -> None:
    """Soft-delete one instance; empty series and studies go with it."""
    study = _study(session, study_uid, lock=True)
    row = session.execute(
        select(Instance, Series)
        .join(Series, Instance.series_pk == Series.id)
        .where(
            Instance.sop_instance_uid == sop_uid,
            Instance.deleted_at.is_(None),
            Series.series_instance_uid == series_uid,
            Series.study_pk == study.id,
            Series.deleted_at.is_(None),
        )
    ).first()
    if row is None:
        raise InstanceNotFound()
    instance, series = row
    instance.deleted_at = utcnow()
    series.metadata_version += 1
    session.flush()
    remaining = session.scalar(
        select(func.count(Instance.id)).where(
            Instance.series_pk == series.id, Instance.deleted_at.is_(None)
        )
    )
    if not remaining:
        series.deleted_at = utcnow()
        session.flush()
    _after_partial_delete(session, study, series)
    _audit_delete(
        session, actor, study,
        {"level": "instance", "series_instance_uid": series_uid, "sop_instance_uid": sop_uid},
    )  # fmt: skip


def _after_partial_delete(session: Session, study: Study, series: Series) -> None:
    refresh_aggregates(session, series.series_instance_uid)
    if study.number_of_series == 0:
        study.deleted_at = utcnow()
    request_refresh(session, series)


REFRESH_REQUEST_STALE = timedelta(minutes=10)
#: How long a refresh queued at the end of a transfer waits for the next transfers.
REFRESH_QUIET_S = 1.0

#: The transfer (association, request) whose ingests run in this context, if any.
_transfer: contextvars.ContextVar[Transfer | None] = contextvars.ContextVar(
    "refresh_transfer", default=None
)


class Transfer:
    """The series refreshes queued during one transfer, sent to the worker when it ends.

    This is the one debounce of series refreshes: a series has at most one refresh waiting
    (`Series.refresh_requested_at`), and inside a transfer (a DIMSE association, a STOW-RS
    or upload request) that refresh is held back until the transfer ends, so a burst of N
    instances costs one build, not N. The outbox row is written with the first instance: if
    the transfer never ends (a crash, a very long association), the outbox requeuer sends it
    within its interval, so work is never lost and long transfers still show progress.
    """

    def __init__(self) -> None:
        self._held: list[uuid.UUID] = []
        self._lock = threading.Lock()
        self.audit_batch = uuid.uuid4().hex  # its instances are named by one audit event

    @contextmanager
    def active(self) -> Iterator[Transfer]:
        """Ingests inside this block hold their refreshes for this transfer."""
        token = _transfer.set(self)
        try:
            with audit.batch(self.audit_batch):
                yield self
        finally:
            _transfer.reset(token)

    def hold(self, entry_id: uuid.UUID) -> None:
        with self._lock:
            self._held.append(entry_id)

    def end(self) -> None:
        """Send the held refreshes to the worker, REFRESH_QUIET_S from now (idempotent).

        The delay is a debounce across transfers: a client sending a series one instance
        per request (STOW-RS of one, an association per image) ended a transfer, and so
        queued a rebuild of the whole series, for every instance (~8 ms of CPU each in
        bench/ingest_statements.py --per-transfer 1). While this refresh waits, the
        series' `refresh_requested_at` is set, so the next transfers add no other: one
        rebuild covers them. Reads never wait for it (metadata documents are built on
        demand at the series' current version)."""
        from hounsfield.worker import dispatch_later

        with self._lock:
            held, self._held = self._held, []
        for entry_id in held:
            dispatch_later(entry_id, REFRESH_QUIET_S)


@contextmanager
def transfer() -> Iterator[Transfer]:
    """One transfer around a block (a request): its refreshes are sent when it exits."""
    current = Transfer()
    try:
        with current.active():
            yield current
    finally:
        current.end()


def current_transfer() -> Transfer | None:
    """The transfer (association, request) the ingest running in this context belongs to."""
    return _transfer.get()


def request_refresh(session: Session, series: Series) -> None:
    """Queue `studies.refresh_series` for a changed series, unless one is still waiting.

    The caller holds the study's lock, as does the task when it clears the request (in
    `refresh_aggregates`), so a change is either seen by the waiting task or queues a new
    one. Inside a :class:`Transfer` the refresh is sent when the transfer ends. A request
    older than REFRESH_REQUEST_STALE is taken as lost and queued again.
    """
    now = utcnow()
    # A locking read: the latest committed value, not a repeatable-read snapshot (InnoDB).
    requested = session.scalar(
        select(Series.refresh_requested_at).where(Series.id == series.id).with_for_update()
    )
    if not refresh_due(requested, now):
        return
    session.execute(
        update(Series)
        .where(Series.id == series.id)
        .values(refresh_requested_at=now)
        .execution_options(synchronize_session=False)
    )
    queue_refresh(session, series.series_instance_uid)


def refresh_due(requested: datetime | None, now: datetime) -> bool:
    """Whether a series whose refresh was requested at `requested` needs a new request."""
    return requested is None or now - requested >= REFRESH_REQUEST_STALE


def queue_refresh(session: Session, series_instance_uid: str) -> None:
    """The outbox row of a refresh, sent after commit (or when the transfer ends). For
    callers that have already set the series' `refresh_requested_at` (see request_refresh)."""
    from hounsfield.studies.tasks import refresh_series
    from hounsfield.worker import dispatch, record

    entry_id = record(session, refresh_series, series_instance_uid=series_instance_uid)
    held = _transfer.get()
    after_commit(session, lambda: held.hold(entry_id) if held else dispatch(entry_id))


def _audit_delete(
    session: Session, actor: Actor | None, study: Study, detail: dict[str, Any]
) -> None:
    audit.record(
        session, "image.delete", actor, resource_type="study",
        resource_id=study.study_instance_uid, patient_id=study.patient.patient_id or None,
        detail=detail,
    )  # fmt: skip


def refresh_aggregates(session: Session, series_instance_uid: str) -> None:
    """Recount a series' instances and its study's series, instances and modalities.

    Locks the study first, as the ingest does, so the two never deadlock and the counts
    cannot change under the recount.
    """
    study_pk = session.scalar(
        select(Series.study_pk).where(Series.series_instance_uid == series_instance_uid)
    )
    if study_pk is None:
        return
    study = session.scalar(
        select(Study)
        .where(Study.id == study_pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    series = session.scalar(
        select(Series)
        .where(Series.series_instance_uid == series_instance_uid)
        .execution_options(populate_existing=True)
    )
    if study is None or series is None:
        return
    # This run covers every change committed so far (the study is locked): ingests from now
    # on must queue another run (see ingest.service._after_store).
    series.refresh_requested_at = None
    live_instances = select(func.count(Instance.id)).where(
        Instance.series_pk == series.id, Instance.deleted_at.is_(None)
    )
    count = session.scalar(live_instances) or 0
    if series.number_of_instances != count:
        series.number_of_instances = count
    live_series = select(Series.id).where(Series.study_pk == study.id, Series.deleted_at.is_(None))
    n_series = session.scalar(select(func.count()).select_from(live_series.subquery())) or 0
    n_instances = (
        session.scalar(
            select(func.count(Instance.id)).where(
                Instance.series_pk.in_(live_series), Instance.deleted_at.is_(None)
            )
        )
        or 0
    )
    modalities = session.scalars(
        select(Series.modality)
        .distinct()
        .where(Series.study_pk == study.id, Series.deleted_at.is_(None), Series.modality != "")
    ).all()
    joined = "\\".join(sorted(modalities))[:128]
    if (study.number_of_series, study.number_of_instances, study.modalities_in_study) != (
        n_series,
        n_instances,
        joined,
    ):
        study.number_of_series = n_series
        study.number_of_instances = n_instances
        study.modalities_in_study = joined


def purge_deleted(session: Session, *, older_than: timedelta, batch: int = 500) -> int:
    """Remove soft-deleted instances (rows, then objects after commit) deleted long enough ago.

    Also removes series and studies left without instances. Returns the instances purged.
    """
    cutoff: datetime = utcnow() - older_than
    doomed = session.execute(
        select(Instance.id, Instance.storage_key)
        .where(Instance.deleted_at.is_not(None), Instance.deleted_at < cutoff)
        .order_by(Instance.id)
        .limit(batch)
        .with_for_update()  # an instance received again meanwhile is not purged under it
    ).all()
    if doomed:
        ids = [pk for pk, _ in doomed]
        keys = [key for _, key in doomed]
        session.execute(
            Instance.__table__.delete().where(Instance.id.in_(ids))  # type: ignore[attr-defined]
        )
        storage = get_storage()

        def remove_objects() -> None:
            for key in keys:
                try:
                    storage.delete(key)
                except Exception:
                    logger.warning("purge: object delete failed; the orphan sweep will retry")

        after_commit(session, remove_objects)
    empty_series = select(Series.id).where(
        Series.deleted_at.is_not(None),
        Series.deleted_at < cutoff,
        ~select(Instance.id).where(Instance.series_pk == Series.id).exists(),
    )
    session.execute(
        Series.__table__.delete().where(  # type: ignore[attr-defined]
            Series.id.in_(select(empty_series.subquery().c.id))
        )
    )
    empty_studies = select(Study.id).where(
        Study.deleted_at.is_not(None),
        Study.deleted_at < cutoff,
        ~select(Series.id).where(Series.study_pk == Study.id).exists(),
    )
    session.execute(
        Study.__table__.delete().where(  # type: ignore[attr-defined]
            Study.id.in_(select(empty_studies.subquery().c.id))
        )
    )
    return len(doomed)
