"""The Patients service: records, search, a patient's studies, visits and timeline.

Reads are audited through the journal (`patient.query`, `patient.read`), changes inside
their transaction (`patient.create`, `.update`, `.delete`), each with the record's id.
The national ID and phone leave this module masked unless the caller may read them in
full (`patient:read_sensitive`); they are decrypted only to be shown or masked.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, Select, delete, func, insert, select
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.auth import scope
from hounsfield.config import get_settings
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound
from hounsfield.patients import crypto, search
from hounsfield.patients.hooks import TIMELINE_PROVIDERS, TimelineEntry, register_timeline_provider
from hounsfield.patients.models import PatientRecord, PatientSearchTerm, Reconciliation, Visit
from hounsfield.patients.schemas import PatientCreate, PatientRead, PatientUpdate, VisitCreate
from hounsfield.patients.validation import (
    MESSAGES,
    PatientFieldInvalid,
    check_birth_date,
    check_icd10,
    mask,
    national_id_birth_date,
    normalize_national_id,
    normalize_phone,
)
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.studies.models import Study
from hounsfield.users.permissions import Permission

SortKey = Literal[
    "name", "-name", "created_at", "-created_at", "mrn", "-mrn", "birth_date", "-birth_date"
]
SORTS: dict[str, Any] = {
    "name": PatientRecord.sort_name,
    "created_at": PatientRecord.created_at,
    "mrn": PatientRecord.mrn,
    "birth_date": PatientRecord.birth_date,
}
SEARCHED_FIELDS = ("mrn", "name_ideographic", "name_alphabetic", "name_phonetic")
GENERATED_MRN_PREFIX = "HF"


class PatientNotFound(NotFound):
    """No such patient."""

    code = "patient_not_found"


class VersionConflict(Conflict):
    """Someone else changed this patient since you read it; reload and try again."""

    code = "version_conflict"


class PatientMerged(Conflict):
    """This patient was merged into another; undo the merge to bring it back."""

    code = "patient_merged"


class MrnTaken(Conflict):
    """This MRN is already in use for this issuer."""

    code = "mrn_taken"


def can_read_sensitive(actor: Actor | None) -> bool:
    permissions: frozenset[str] = getattr(actor, "permissions", frozenset())
    return Permission.patient_read_sensitive.value in permissions


# -- shaping ---------------------------------------------------------------------------


def display_name(patient: PatientRecord) -> str:
    """`张三丰 (Zhang Sanfeng)`; either form alone when the other is missing."""
    chinese = patient.name_ideographic.replace("^", "")
    latin = " ".join(part for part in patient.name_alphabetic.split("^") if part)
    if chinese and latin:
        return f"{chinese} ({latin})"
    return chinese or latin or patient.name_phonetic.replace("^", " ")


def secrets_of(patient: PatientRecord) -> tuple[str | None, str | None]:
    """The national ID and phone in clear."""
    if patient.key_id is None:
        return None, None
    ring = crypto.keyring(get_settings(), needs=patient.key_id)
    national_id = phone = None
    if patient.national_id_enc:
        national_id = ring.decrypt(patient.key_id, "national_id", patient.national_id_enc)
    if patient.phone_enc:
        phone = ring.decrypt(patient.key_id, "phone", patient.phone_enc)
    return national_id, phone


def to_read(patient: PatientRecord, *, sensitive: bool, flagged: bool) -> PatientRead:
    national_id, phone = secrets_of(patient)
    if not sensitive:
        national_id = mask(national_id) if national_id else None
        phone = mask(phone) if phone else None
    return PatientRead(
        id=patient.id,
        mrn=patient.mrn,
        issuer=patient.issuer,
        name=display_name(patient),
        name_ideographic=patient.name_ideographic,
        name_alphabetic=patient.name_alphabetic,
        name_phonetic=patient.name_phonetic,
        sex=patient.sex,
        birth_date=patient.birth_date,
        national_id=national_id,
        phone=phone,
        address=patient.address,
        allergies=patient.allergies,
        notes=patient.notes,
        version=patient.version,
        created_at=patient.created_at,
        updated_at=patient.updated_at,
        needs_reconciliation=flagged,
        deleted_at=patient.deleted_at,
    )


def flagged_ids(session: Session, ids: Iterable[int]) -> set[int]:
    """Which of these patients have a study waiting for reconciliation."""
    wanted = list(ids)
    if not wanted:
        return set()
    found = session.scalars(
        select(Reconciliation.patient_id)
        .where(Reconciliation.patient_id.in_(wanted), Reconciliation.resolved_at.is_(None))
        .distinct()
    )
    return set(found)


# -- writing ---------------------------------------------------------------------------


def set_secrets(patient: PatientRecord, national_id: str | None, phone: str | None) -> None:
    """Encrypt both with the current key (one key id per row) and hash them for search."""
    settings = get_settings()
    ring = crypto.keyring(settings)
    patient.key_id = ring.current if (national_id or phone) else None
    patient.national_id_enc = ring.encrypt("national_id", national_id) if national_id else None
    patient.phone_enc = ring.encrypt("phone", phone) if phone else None
    patient.national_id_hash = (
        crypto.keyed_hash(settings, "national_id", national_id) if national_id else None
    )
    patient.phone_hash = crypto.keyed_hash(settings, "phone", phone) if phone else None


def refresh_terms(session: Session, patient: PatientRecord, *, new: bool = False) -> None:
    """Rewrite the patient's search terms and sort name from its current fields.

    A new record has no terms to delete, and must not try: on InnoDB, a DELETE that matches
    nothing locks the gap at the index's end, so two ingests creating two patients at once
    deadlock when each then inserts into the other's locked gap.
    """
    patient.sort_name = search.sort_name(patient.name_ideographic, patient.name_alphabetic)
    session.flush()
    if not new:
        drop_terms(session, patient)
    found = search.terms(
        search.Searchable(
            mrn=patient.mrn,
            name_ideographic=patient.name_ideographic,
            name_alphabetic=patient.name_alphabetic,
            name_phonetic=patient.name_phonetic,
            national_id_hash=patient.national_id_hash,
            phone_hash=patient.phone_hash,
        )
    )
    if found:
        rows = [
            {"term": t, "sort_name": patient.sort_name, "patient_id": patient.id} for t in found
        ]
        session.execute(insert(PatientSearchTerm), rows)


def drop_terms(session: Session, patient: PatientRecord) -> None:
    """Make the record unfindable: a hidden (deleted, merged) record keeps no terms, so
    that a search never tests `deleted_at`; refresh_terms gives them back on its return."""
    session.execute(delete(PatientSearchTerm).where(PatientSearchTerm.patient_id == patient.id))


def _ensure_mrn_free(session: Session, mrn: str, issuer: str, *, english: bool) -> None:
    taken = session.scalar(
        select(PatientRecord.id).where(PatientRecord.mrn == mrn, PatientRecord.issuer == issuer)
    )
    if taken is not None:
        raise MrnTaken(MESSAGES["mrn_taken"][1 if english else 0])


def audit_change(
    session: Session, action: str, actor: Actor | None, patient: PatientRecord, **detail: Any
) -> None:
    audit.record(
        session,
        action,
        actor,
        resource_type="patient",
        resource_id=str(patient.id),
        patient_id=patient.mrn,
        detail=detail,
    )


def new_record(
    session: Session, values: dict[str, Any], national_id: str | None, phone: str | None
) -> PatientRecord:
    """Insert a record (MRN generated from its id when none is given) with its terms."""
    generate = not values.get("mrn")
    patient = PatientRecord(**{**values, "mrn": values.get("mrn") or f"~{utcnow().timestamp()}"})
    set_secrets(patient, national_id, phone)
    session.add(patient)
    session.flush()
    if generate:
        patient.mrn = f"{GENERATED_MRN_PREFIX}{patient.id:08d}"
        clash = session.scalar(
            select(func.count()).where(
                PatientRecord.mrn == patient.mrn,
                PatientRecord.issuer == patient.issuer,
                PatientRecord.id != patient.id,
            )
        )
        if clash:
            patient.mrn = f"{patient.mrn}-{patient.id}"
    refresh_terms(session, patient, new=True)
    return patient


def create_patient(
    session: Session, actor: Actor | None, body: PatientCreate, *, english: bool = False
) -> PatientRecord:
    national_id = (
        normalize_national_id(body.national_id, english=english) if body.national_id else None
    )
    phone = normalize_phone(body.phone, english=english) if body.phone else None
    check_birth_date(national_id, body.birth_date, english=english)
    values = body.model_dump(exclude={"national_id", "phone"})
    if values["birth_date"] is None and national_id:
        values["birth_date"] = national_id_birth_date(national_id)
    if body.mrn:
        _ensure_mrn_free(session, body.mrn, body.issuer, english=english)
    patient = new_record(session, values, national_id, phone)
    audit_change(session, "patient.create", actor, patient, fields=sorted(body.model_fields_set))
    return patient


def get_record(session: Session, patient_id: int, *, lock: bool = False) -> PatientRecord:
    query = select(PatientRecord).where(
        PatientRecord.id == patient_id, PatientRecord.deleted_at.is_(None)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    patient = session.scalar(query)
    if patient is None:
        raise PatientNotFound()
    return patient


def read_patient(session: Session, actor: Actor | None, patient_id: int) -> PatientRead:
    patient = get_record(session, patient_id)
    sensitive = can_read_sensitive(actor)
    shown = to_read(patient, sensitive=sensitive, flagged=bool(flagged_ids(session, [patient.id])))
    _audit_read(actor, patient, {"sensitive": sensitive})
    return shown


def update_patient(
    session: Session,
    actor: Actor | None,
    patient_id: int,
    body: PatientUpdate,
    *,
    english: bool = False,
) -> PatientRecord:
    patient = get_record(session, patient_id, lock=True)
    if body.version != patient.version:
        raise VersionConflict(details={"current_version": patient.version})
    sent = body.model_fields_set - {"version"}
    national_id, phone = secrets_of(patient)
    if "national_id" in sent:
        national_id = (
            normalize_national_id(body.national_id, english=english) if body.national_id else None
        )
    if "phone" in sent:
        phone = normalize_phone(body.phone, english=english) if body.phone else None
    birth_date = body.birth_date if "birth_date" in sent else patient.birth_date
    check_birth_date(national_id, birth_date, english=english)
    plain = {n: getattr(body, n) for n in sent - {"national_id", "phone"}}
    plain = {n: v for n, v in plain.items() if v is not None or n == "birth_date"}
    mrn, issuer = plain.get("mrn", patient.mrn), plain.get("issuer", patient.issuer)
    if (mrn, issuer) != (patient.mrn, patient.issuer):
        _ensure_mrn_free(session, mrn, issuer, english=english)
    for name, value in plain.items():
        setattr(patient, name, value)
    if sent & {"national_id", "phone"}:
        set_secrets(patient, national_id, phone)
    patient.version += 1
    if sent & {*SEARCHED_FIELDS, "national_id", "phone"}:
        refresh_terms(session, patient)
    audit_change(session, "patient.update", actor, patient, fields=sorted(sent))
    return patient


def delete_patient(session: Session, actor: Actor | None, patient_id: int) -> None:
    """Soft delete: hidden from lists and reads at once; its studies stay in the archive."""
    patient = get_record(session, patient_id, lock=True)
    patient.deleted_at = utcnow()
    patient.version += 1
    drop_terms(session, patient)
    audit_change(session, "patient.delete", actor, patient)


def restore_patient(session: Session, actor: Actor | None, patient_id: int) -> PatientRecord:
    """Undo a soft delete: the record is listed and found again. A merged record comes
    back only by undoing its merge (which moves its studies back too)."""
    patient = session.scalar(
        select(PatientRecord)
        .where(PatientRecord.id == patient_id, PatientRecord.deleted_at.is_not(None))
        .with_for_update()
    )
    if patient is None:
        raise PatientNotFound()
    if patient.merged_into_id is not None:
        raise PatientMerged(details={"merged_into_id": patient.merged_into_id})
    patient.deleted_at = None
    patient.version += 1
    refresh_terms(session, patient)
    audit_change(session, "patient.restore", actor, patient)
    return patient


# -- search ----------------------------------------------------------------------------


@dataclass(frozen=True)
class PatientFilters:
    q: str | None = None
    sex: str | None = None
    birth_date: date | None = None


def _exact_hashes(q: str) -> list[str]:
    """The keyed hashes q may be: a national ID, a phone number (only if it is one)."""
    settings = get_settings()
    found = []
    for kind, normalize, mark in (
        ("national_id", normalize_national_id, "n"),
        ("phone", normalize_phone, "p"),
    ):
        try:
            value = normalize(q)
        except PatientFieldInvalid:  # not this kind of number
            continue
        found.append(search.hash_term(mark, crypto.keyed_hash(settings, kind, value)))
    return found


COUNT_BOUND = 5000  # a total past it is shown as "5,000+" (total_exact false)


@dataclass(frozen=True)
class Total:
    """How many match: exact, or a lower bound when counting on would cost too much."""

    count: int
    exact: bool


def _record_filters(filters: PatientFilters) -> list[ColumnElement[bool]]:
    where: list[ColumnElement[bool]] = []
    if filters.sex is not None:
        where.append(PatientRecord.sex == filters.sex)
    if filters.birth_date is not None:
        where.append(PatientRecord.birth_date == filters.birth_date)
    return where


def _bounded(session: Session, matches: Select[Any], bound: int) -> Total:
    """Count the rows of `matches` up to `bound` + 1: past the bound, report the bound."""
    counted = session.scalar(select(func.count()).select_from(matches.limit(bound + 1).subquery()))
    if (counted or 0) > bound:
        return Total(bound, exact=False)
    return Total(counted or 0, exact=True)


def _term_matches(
    term_match: ColumnElement[bool], filters: PatientFilters, *columns: Any, distinct: bool = True
) -> Select[Any]:
    """The matching patients (distinct unless told) as `columns` of the term rows: from the term key
    alone, joined to `patients` only for the sex / birth date filters (hidden records have
    no terms, so nothing tests `deleted_at`)."""
    query = select(*columns).where(term_match)
    if distinct:
        query = query.distinct()
    record_filters = _record_filters(filters)
    if record_filters:
        query = query.join(PatientRecord, PatientRecord.id == PatientSearchTerm.patient_id)
        query = query.where(*record_filters)
    return query


def _in_order(session: Session, ids: Sequence[int]) -> list[PatientRecord]:
    """The records of `ids`, in that order."""
    if not ids:
        return []
    found = session.scalars(select(PatientRecord).where(PatientRecord.id.in_(ids)))
    by_id = {p.id: p for p in found if p.deleted_at is None}
    return [by_id[i] for i in ids if i in by_id]


def _distinct_ids(session: Session, query: Select[Any], limit: int, offset: int) -> list[int]:
    """The page's patient ids from term rows sorted by (sort name, id), a patient's
    repeats (several of its terms match) dropped here. A sort with a LIMIT is a top-N heap
    on every database, where a DISTINCT de-duplicates every match first: on MariaDB in an
    on-disk temporary table (the sort name is wide), 1.3 s for the 25,000 rows of `ly`.
    Repeats are adjacent; when they leave the page short, fetch more."""
    wanted = offset + limit
    fetch = wanted * 2
    while True:
        rows = session.execute(query.limit(fetch)).all()
        ids = list(dict.fromkeys(row.patient_id for row in rows))
        if len(ids) >= wanted or len(rows) < fetch:
            return ids[offset:wanted]
        fetch *= 4


def _search_page(
    session: Session,
    term_match: ColumnElement[bool],
    filters: PatientFilters,
    page: tuple[str, int, int],
) -> list[PatientRecord]:
    sort, limit, offset = page
    descending = sort.startswith("-")
    if sort.lstrip("-") == "name":  # the order of the term key itself
        name, pid = PatientSearchTerm.sort_name, PatientSearchTerm.patient_id
        order = [name.desc(), pid.desc()] if descending else [name, pid]
        query = _term_matches(term_match, filters, name, pid, distinct=False).order_by(*order)
        return _in_order(session, _distinct_ids(session, query, limit, offset))
    ids = select(PatientSearchTerm.patient_id).where(term_match)
    return _list_page(session, [PatientRecord.id.in_(ids), *_record_filters(filters)], page)


def _list_page(
    session: Session, where: list[ColumnElement[bool]], page: tuple[str, int, int]
) -> list[PatientRecord]:
    sort, limit, offset = page
    column = SORTS[sort.lstrip("-")]
    descending = sort.startswith("-")
    order = [column.desc(), PatientRecord.id.desc()] if descending else [column, PatientRecord.id]
    query = select(PatientRecord).where(PatientRecord.deleted_at.is_(None), *where)
    return list(session.scalars(query.order_by(*order).limit(limit).offset(offset)))


def search_records(
    session: Session, filters: PatientFilters, *, sort: str, limit: int, offset: int
) -> tuple[list[PatientRecord], Total]:
    """One page of matching records, and how many match: exactly up to COUNT_BOUND, or
    up to one past the page asked for (so a later page can always be reached)."""
    bound = max(COUNT_BOUND, offset + limit + 1)
    page = (sort, limit, offset)
    if filters.q and filters.q.strip():
        term_match = search.term_match(filters.q, _exact_hashes(filters.q.strip()))
        if term_match is None:
            return [], Total(0, exact=True)
        matches = _term_matches(term_match, filters, PatientSearchTerm.patient_id)
        total = _bounded(session, matches, bound)
        return _search_page(session, term_match, filters, page), total
    where = _record_filters(filters)
    listed = select(PatientRecord.id).where(PatientRecord.deleted_at.is_(None), *where)
    return _list_page(session, where, page), _bounded(session, listed, bound)


def list_patients(
    session: Session,
    actor: Actor | None,
    filters: PatientFilters,
    *,
    sort: str = "name",
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PatientRead], Total]:
    rows, total = search_records(session, filters, sort=sort, limit=limit, offset=offset)
    sensitive = can_read_sensitive(actor)
    flagged = flagged_ids(session, (p.id for p in rows))
    items = [to_read(p, sensitive=sensitive, flagged=p.id in flagged) for p in rows]
    used = sorted(k for k, v in vars(filters).items() if v not in (None, ""))
    audit.record_now(
        "patient.query",
        actor,
        resource_type="patient",
        detail={
            "filters": used,
            "sort": sort,
            "total": total.count,
            "total_exact": total.exact,
            "patient_ids": [p.id for p in rows],
            "sensitive": sensitive,
        },
    )
    return items, total


def list_deleted(
    session: Session,
    actor: Actor | None,
    filters: PatientFilters,
    *,
    limit: int = 50,
    offset: int = 0,
) -> tuple[list[PatientRead], Total]:
    """Soft-deleted records, the last deleted first, for restoring one. Merged records are
    left out (they come back by undoing the merge). Hidden records have no search terms:
    `q` matches the MRN (its beginning) only."""
    where = [
        PatientRecord.deleted_at.is_not(None),
        PatientRecord.merged_into_id.is_(None),
        *_record_filters(filters),
    ]
    q = (filters.q or "").strip()
    if q:
        where.append(PatientRecord.mrn.startswith(q, autoescape=True))
    total = session.scalar(select(func.count()).select_from(PatientRecord).where(*where)) or 0
    rows = session.scalars(
        select(PatientRecord)
        .where(*where)
        .order_by(PatientRecord.deleted_at.desc(), PatientRecord.id.desc())
        .limit(limit)
        .offset(offset)
    ).all()
    sensitive = can_read_sensitive(actor)
    items = [to_read(p, sensitive=sensitive, flagged=False) for p in rows]
    used = sorted(k for k, v in vars(filters).items() if v not in (None, ""))
    audit.record_now(
        "patient.query",
        actor,
        resource_type="patient",
        detail={
            "deleted": True,
            "filters": used,
            "total": total,
            "patient_ids": [p.id for p in rows],
            "sensitive": sensitive,
        },
    )
    return items, Total(total, exact=True)


# -- studies, visits, timeline ---------------------------------------------------------


def studies_of(session: Session, patient_id: int) -> list[Study]:
    """Every study of the record's DICOM patients the caller may read, newest first."""
    return list(
        session.scalars(
            select(Study)
            .join(DicomPatient, Study.patient_pk == DicomPatient.id)
            .where(
                DicomPatient.patient_record_id == patient_id,
                Study.deleted_at.is_(None),
                scope.visible(),
            )
            .order_by(
                Study.study_date.is_(None),
                Study.study_date.desc(),
                Study.study_time.desc(),
                Study.received_at.desc(),
            )
        )
    )


def _audit_read(actor: Actor | None, patient: PatientRecord, detail: dict[str, object]) -> None:
    """A read of one record, durable before it is answered (the fsync'd journal)."""
    audit.record_now(
        "patient.read",
        actor,
        resource_type="patient",
        resource_id=str(patient.id),
        patient_id=patient.mrn,
        detail=detail,
    )


def list_studies(session: Session, actor: Actor | None, patient_id: int) -> list[Study]:
    patient = get_record(session, patient_id)
    studies = studies_of(session, patient.id)
    _audit_read(actor, patient, {"part": "studies", "returned": len(studies)})
    return studies


def list_visits(session: Session, actor: Actor | None, patient_id: int) -> list[Visit]:
    patient = get_record(session, patient_id)
    visits = session.scalars(
        select(Visit)
        .where(Visit.patient_id == patient.id)
        .order_by(Visit.visit_date.desc(), Visit.id.desc())
    ).all()
    _audit_read(actor, patient, {"part": "visits", "returned": len(visits)})
    return list(visits)


def create_visit(
    session: Session, actor: Actor | None, patient_id: int, body: VisitCreate, *, english: bool
) -> Visit:
    patient = get_record(session, patient_id)
    values = body.model_dump()
    if values["icd10_code"]:
        values["icd10_code"] = check_icd10(values["icd10_code"], english=english)
    visit = Visit(patient_id=patient.id, **values)
    session.add(visit)
    session.flush()
    audit_change(session, "patient.visit_create", actor, patient, visit_id=visit.id)
    return visit


VISIT_TITLES = {"outpatient": "门诊", "inpatient": "住院", "emergency": "急诊", "physical": "体检"}


def _visit_entries(session: Session, patient_id: int) -> Sequence[TimelineEntry]:
    visits = session.scalars(select(Visit).where(Visit.patient_id == patient_id))
    return [
        TimelineEntry(
            kind="visit",
            at=v.visit_date,
            title=" ".join(
                p
                for p in (VISIT_TITLES.get(v.visit_type, v.visit_type), v.department, v.diagnosis)
                if p
            ),
            ref=str(v.id),
        )
        for v in visits
    ]


def _study_entries(session: Session, patient_id: int) -> Sequence[TimelineEntry]:
    return [
        TimelineEntry(
            kind="study",
            at=s.study_date or s.received_at,
            title=" ".join(p for p in ("/".join(s.modalities), s.study_description) if p),
            ref=s.study_instance_uid,
        )
        for s in studies_of(session, patient_id)
    ]


register_timeline_provider("visits", _visit_entries)
register_timeline_provider("studies", _study_entries)


def _moment(at: datetime | date) -> datetime:
    if isinstance(at, datetime):
        return at
    return datetime(at.year, at.month, at.day, tzinfo=UTC)


def timeline(session: Session, actor: Actor | None, patient_id: int) -> list[TimelineEntry]:
    """Visits, studies and what other domains register (orders, reports), newest first."""
    patient = get_record(session, patient_id)
    entries = [e for provider in TIMELINE_PROVIDERS.values() for e in provider(session, patient.id)]
    entries.sort(key=lambda e: _moment(e.at), reverse=True)
    _audit_read(actor, patient, {"part": "timeline", "returned": len(entries)})
    return entries


# -- key rotation ----------------------------------------------------------------------


def reencrypt_batch(session: Session, limit: int = 500) -> int:
    """Re-encrypt up to `limit` records made with an older key; returns how many.

    The keyed hashes stay (their key never rotates), so search is unaffected."""
    current = crypto.keyring(get_settings()).current
    rows = session.scalars(
        select(PatientRecord)
        .where(PatientRecord.key_id.is_not(None), PatientRecord.key_id != current)
        .order_by(PatientRecord.id)
        .limit(limit)
        .with_for_update()
    ).all()
    for patient in rows:
        set_secrets(patient, *secrets_of(patient))
    return len(rows)
