"""The one ingest path: every DICOM instance (C-STORE, STOW-RS, upload, zip, tus) enters here.

DESIGN.md §4: spool (constant memory, SHA-256 on the way) → parse and validate the header →
write the object under a hashed key → upsert the index rows in the caller's transaction →
audit → queue derived work after commit. The object is written before the rows are
flushed, so a row never exists without its object; an object without a row (a crash or
a lost race in between) is harmless and swept later.

Other domains react to stored instances through `hounsfield.ingest.hooks` (the one place
for post-commit and in-transaction hooks; see its docstring), never by editing `_store`.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import logging
import os
import tempfile
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO, Literal, Protocol, TypeVar, cast

from pydicom import dcmread
from pydicom.dataset import Dataset, FileMetaDataset
from pydicom.uid import (
    PYDICOM_IMPLEMENTATION_UID,
    UID,
    ExplicitVRBigEndian,
    ExplicitVRLittleEndian,
    ImplicitVRLittleEndian,
)
from sqlalchemy import Table, bindparam, insert, select, update
from sqlalchemy.dialects.mysql import insert as mysql_insert
from sqlalchemy.dialects.postgresql import insert as postgresql_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from hounsfield.audit import service as audit
from hounsfield.audit.service import Actor
from hounsfield.config import Settings, get_settings
from hounsfield.db import after_commit, is_retryable, transaction, utcnow
from hounsfield.dicom.charset import clean_text, normalize_text, person_name_groups, search_text
from hounsfield.dicom.identity import is_lossless, pixel_digest, same_pixels
from hounsfield.dicom.parse import (
    PREAMBLE_LENGTH,
    InvalidInstance,
    Note,
    ParsedInstance,
    ParseLimits,
    parse_instance,
    sanitize_preamble,
)
from hounsfield.errors import Conflict
from hounsfield.ingest import hooks, metrics
from hounsfield.ingest.outcome import Ids, Outcome
from hounsfield.orders import tasks as _orders_tasks  # noqa: F401  (registers arrival matching)
from hounsfield.storage import StorageUnavailable, get_storage
from hounsfield.studies import derived
from hounsfield.studies.models import ANONYMOUS_ISSUER_PREFIX, Instance, Patient, Series, Study

__all__ = [
    "InstanceConflict",
    "InvalidInstance",
    "Outcome",
    "StorageUnavailable",
    "StudyMismatch",
    "ingest",
    "storage_key",
    "store_instance",
]

logger = logging.getLogger(__name__)

CHUNK = 1 << 20
HEAD = PREAMBLE_LENGTH + 4
INSERT_INSTANCE = insert(Instance)  # one statement, compiled once (parameters per call)


class InstanceConflict(Conflict):
    """An instance with this SOP Instance UID and other content is already stored."""

    code = "instance_conflict"

    def __init__(self, ids: Ids | None = None) -> None:
        reason = "an instance with this SOP Instance UID and other content exists"
        super().__init__(reason, details={"reason": reason})
        self.reason = reason
        self.ids: Ids | None = ids


class StudyMismatch(Conflict):
    """The instance is not of the study the request names."""

    code = "study_mismatch"

    def __init__(self, ids: Ids) -> None:
        super().__init__()
        self.ids = ids


def ingest(
    source: Path | BinaryIO | bytes,
    *,
    origin: str,
    actor: Actor | None = None,
    settings: Settings | None = None,
    study: str | None = None,
) -> Outcome:
    """The one call of every ingest edge (STOW-RS, uploads, C-STORE): store one instance.

    Validates and writes the object before, and outside, the index transaction (on SQLite
    that transaction holds the database's write lock), indexes it in a write transaction
    of its own, and turns every failure into an Outcome: nothing raises. `study`, if
    given, is the Study Instance UID the instance must belong to.
    A refusal is audited (SECURITY U1: refused STOW parts and uploads too).
    """
    outcome = _ingest(source, origin=origin, actor=actor, settings=settings, study=study)
    metrics.INSTANCES.labels(metrics.route_of(origin), outcome.status).inc()
    if not outcome.ok:
        _audit_refusal(outcome, origin, actor)
    return outcome


def _audit_refusal(outcome: Outcome, origin: str, actor: Actor | None) -> None:
    """One failure event per refused instance: its reason code, never its content. Through
    the journal: the index transaction is gone, and the database may be what failed."""
    audit.record_now(
        "image.refused", actor, outcome=audit.Outcome.minor_failure,
        resource_type="study", resource_id=outcome.study_instance_uid or None,
        patient_id=outcome.patient_id or None,
        detail={
            "origin": origin, "status": outcome.status,
            "reason": outcome.reason.code if outcome.reason else None,
            "sop_instance_uid": outcome.sop_instance_uid or None,
        },
    )  # fmt: skip


def _ingest(
    source: Path | BinaryIO | bytes,
    *,
    origin: str,
    actor: Actor | None,
    settings: Settings | None,
    study: str | None,
) -> Outcome:
    try:
        with prepare_instance(source, settings, study=study) as prepared:
            return _store_retrying(prepared, origin, actor)
    except InvalidInstance as exc:
        logger.info("instance refused (%s): %s", origin, exc.reason)
        return Outcome("refused", reason=exc.note)
    except StudyMismatch as exc:
        return Outcome("mismatch", reason=Note("mismatch"), **exc.ids)
    except InstanceConflict as exc:
        if exc.ids is None:
            return Outcome("conflict", reason=Note("conflict"))
        return Outcome("conflict", reason=Note("conflict"), **exc.ids)
    except StorageUnavailable:
        logger.warning("ingest (%s): storage unavailable", origin)
        return Outcome("unavailable", reason=Note("storage_unavailable"))
    except OperationalError:
        logger.warning("ingest (%s): database unavailable", origin)
        return Outcome("unavailable", reason=Note("database_unavailable"))
    except Exception:
        logger.exception("ingest (%s): unexpected failure", origin)
        return Outcome("error", reason=Note("processing_failure"))


_ATTEMPTS = 4


def _store_retrying(prepared: PreparedInstance, origin: str, actor: Actor | None) -> Outcome:
    """Index the instance in one transaction, run again when a concurrent one deadlocked it.

    InnoDB and PostgreSQL resolve a deadlock by rolling one transaction back, and expect
    it to be retried. Retrying is safe: the rollback undid every row and dropped every
    after-commit callback, and the stored object is content-addressed.
    """
    for attempt in range(1, _ATTEMPTS + 1):
        try:
            with transaction(write=True) as session:
                outcome = _store(session, prepared, origin, actor)
            if outcome.status == "stored":
                metrics.BYTES.labels(metrics.route_of(origin)).inc(prepared.spool.size)
            return outcome
        except OperationalError as exc:
            if attempt == _ATTEMPTS or not is_retryable(exc):
                raise
            logger.info("ingest (%s): concurrent transaction conflict, retrying", origin)
    raise AssertionError("unreachable")


@dataclass(frozen=True)
class _Spool:
    path: Path
    sha256: str
    size: int
    preamble_zeroed: bool


def storage_key(sop_instance_uid: str, sha256: str) -> str:
    """The object key: a digest of the UID and the content, fanned out as `ab/cd/<hex>`.

    Never the raw UID (SECURITY.md I3). The content digest is part of it so that two
    different objects claiming one UID (a race, or an overwrite) never share a key: the
    loser's bytes can then never replace the winner's under an existing row.
    """
    digest = hashlib.sha256(f"{sop_instance_uid}\x00{sha256}".encode()).hexdigest()
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


def parse_limits(settings: Settings) -> ParseLimits:
    conf = settings.ingest
    return ParseLimits(
        max_pixel_bytes=conf.max_pixel_bytes,
        max_inflated_bytes=conf.max_inflated_bytes,
        max_inflate_ratio=conf.max_inflate_ratio,
    )


def store_instance(
    session: Session,
    source: Path | BinaryIO | bytes | PreparedInstance,
    *,
    origin: str,
    actor: Actor | None = None,
) -> Outcome:
    """Validate, store and index one DICOM instance in the caller's transaction.

    For callers that own a transaction (the edges call `ingest`). Returns a "stored" or
    "duplicate" Outcome; raises InvalidInstance (refused), InstanceConflict (same UID,
    other content, policy "reject") or StorageUnavailable (the object could not be
    written). `source` may be a PreparedInstance (see `prepare_instance`): the slow part
    then already happened outside the caller's transaction.
    """
    if isinstance(source, PreparedInstance):
        return _store(session, source, origin, actor)
    with prepare_instance(source, session=session) as prepared:
        return _store(session, prepared, origin, actor)


@dataclass
class PreparedInstance:
    """A validated instance, spooled, usually with its object already in storage."""

    spool: _Spool
    parsed: ParsedInstance
    fields: dict[str, Any]
    key: str
    settings: Settings
    object_written: bool = False
    pixel_digest: str | None = None
    same_as: set[str] = field(default_factory=set)  # SHA-256s of stored twins
    fingerprint: str | None = None  # of the object just written (and checked) by put


@contextlib.contextmanager
def prepare_instance(
    source: Path | BinaryIO | bytes,
    settings: Settings | None = None,
    *,
    session: Session | None = None,
    study: str | None = None,
) -> Iterator[PreparedInstance]:
    """Spool, validate and write the object, before (and outside) any index transaction.

    For concurrency: on SQLite the index transaction holds the database's write lock, so
    the slow part (hashing, parsing, the fsync'ed object write) should not run inside it::

        with prepare_instance(data) as prepared, transaction(write=True) as session:
            store_instance(session, prepared, origin="dimse:CT1")

    The object is not written when the index already holds these exact bytes (a re-send)
    or other bytes under the UID while the policy rejects them (InstanceConflict now), nor
    when the instance is not of `study` (StudyMismatch).
    """
    settings = settings or get_settings()
    spool_dir = settings.data_dir / "spool"
    limits = parse_limits(settings)
    with _spool(source, spool_dir) as spool:
        parsed = parse_instance(spool.path, limits)
        if not parsed.part10:
            with _as_part10(spool.path, parsed, spool_dir) as converted:
                reparsed = parse_instance(converted.path, limits)
                reparsed.warnings.append(Note("bare_dataset"))
                yield _prepare(converted, reparsed, settings, session, study)
            return
        if spool.preamble_zeroed:
            parsed.warnings.append(Note("preamble_zeroed"))
        yield _prepare(spool, parsed, settings, session, study)


def _ids(parsed: ParsedInstance, fields: dict[str, Any] | None = None) -> Ids:
    """The identifying UIDs of an Outcome (and the Patient ID, once extracted)."""
    return {
        "sop_class_uid": parsed.sop_class_uid,
        "sop_instance_uid": parsed.sop_instance_uid,
        "study_instance_uid": parsed.study_instance_uid,
        "series_instance_uid": parsed.series_instance_uid,
        "transfer_syntax_uid": parsed.transfer_syntax_uid,
        "patient_id": fields["patient_id"] if fields else "",
    }


def _prepare(
    spool: _Spool,
    parsed: ParsedInstance,
    settings: Settings,
    session: Session | None,
    study: str | None,
) -> PreparedInstance:
    if study is not None and parsed.study_instance_uid != study:
        raise StudyMismatch(_ids(parsed))
    try:
        fields = _index_fields(parsed.dataset)
    except Exception as exc:  # values already decoded; this is a last line of defence
        raise InvalidInstance("attributes_malformed") from exc
    key = storage_key(parsed.sop_instance_uid, spool.sha256)
    pixels = pixel_digest(spool.path, parsed.pixel_span, parsed.dataset, parsed.transfer_syntax_uid)
    prepared = PreparedInstance(spool, parsed, fields, key, settings, pixel_digest=pixels)
    # A quick look without locks (the real check is in the index transaction), in the
    # caller's session if there is one: a second connection per ingest could exhaust the
    # pool while every connection waits for SQLite's write lock.
    query = select(
        Instance.sha256,
        Instance.deleted_at,
        Instance.dataset_digest,
        Instance.pixel_digest,
        Instance.transfer_syntax_uid,
        Instance.storage_key,
    ).where(Instance.sop_instance_uid == parsed.sop_instance_uid)
    if session is not None:
        existing = session.execute(query).first()
    else:
        with transaction() as own:
            existing = own.execute(query).first()
    if existing is not None and existing.deleted_at is None:
        if _same_instance(existing, prepared):
            return prepared  # a re-send: the object (or its twin) is there
        if settings.ingest.duplicate_policy != "overwrite":
            raise InstanceConflict(_ids(parsed, fields))
    _write_object(prepared)
    derived.record_fragment(parsed.dataset, parsed.transfer_syntax_uid, spool.sha256)
    return prepared


class _StoredIdentity(Protocol):
    sha256: str
    dataset_digest: str | None
    pixel_digest: str | None
    transfer_syntax_uid: str
    storage_key: str


def _same_instance(stored: _StoredIdentity, prepared: PreparedInstance) -> bool:
    """Whether `prepared` is the stored instance, perhaps otherwise encoded (see dicom.identity).

    Decoding pixel data to compare them is slow, but only happens for the same dataset
    in two lossless syntaxes; the answer is kept, so the index transaction reuses it.
    """
    if stored.sha256 == prepared.spool.sha256 or stored.sha256 in prepared.same_as:
        return True
    parsed = prepared.parsed
    with contextlib.ExitStack() as stack:
        path: Path | None = None
        dataset, pixels = stored.dataset_digest, stored.pixel_digest
        if dataset is None:  # indexed before identities were kept: learn it from the object
            path = stack.enter_context(_stored_copy(stored.storage_key, prepared.settings))
            other = parse_instance(path, parse_limits(prepared.settings))
            dataset = other.dataset_digest
            pixels = pixel_digest(path, other.pixel_span, other.dataset, other.transfer_syntax_uid)
        if dataset != parsed.dataset_digest:
            return False
        same = pixels == prepared.pixel_digest
        lossless = is_lossless(stored.transfer_syntax_uid) and is_lossless(
            parsed.transfer_syntax_uid
        )
        if not same and lossless and pixels is not None and prepared.pixel_digest is not None:
            if path is None:
                path = stack.enter_context(_stored_copy(stored.storage_key, prepared.settings))
            same = same_pixels(path, prepared.spool.path)
    if same:
        prepared.same_as.add(stored.sha256)
    return same


@contextlib.contextmanager
def _stored_copy(key: str, settings: Settings) -> Iterator[Path]:
    """A stored object as a temporary file (pydicom reads pixel data from a path)."""
    with (
        get_storage(settings).open(key) as source,
        _copy_to_spool(source, settings.data_dir / "spool") as spool,
    ):
        yield spool.path


def _write_object(prepared: PreparedInstance) -> None:
    storage = get_storage(prepared.settings)
    storage.put(prepared.key, prepared.spool.path, prepared.spool.sha256)
    prepared.object_written = True
    prepared.fingerprint = storage.fingerprint(prepared.key)  # verified: reads skip the hash


# -- spooling ---------------------------------------------------------------------------


@contextlib.contextmanager
def _spool(source: Path | BinaryIO | bytes, spool_dir: Path) -> Iterator[_Spool]:
    """The bytes as a file on disk with their SHA-256, the preamble zeroed if executable."""
    if isinstance(source, Path):
        with source.open("rb") as fp:
            head = fp.read(HEAD)
        _, zeroed = sanitize_preamble(head)
        if not zeroed:  # use the file in place: no copy of a large upload
            digest, size = _hash_file(source)
            yield _Spool(source, digest, size, False)
            return
        with source.open("rb") as fp:
            with _copy_to_spool(fp, spool_dir) as spool:
                yield spool
        return
    stream: BinaryIO = io.BytesIO(source) if isinstance(source, bytes | bytearray) else source
    with _copy_to_spool(stream, spool_dir) as spool:
        yield spool


@contextlib.contextmanager
def _copy_to_spool(stream: BinaryIO, spool_dir: Path) -> Iterator[_Spool]:
    if not spool_dir.is_dir():
        spool_dir.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix="ingest-", suffix=".dcm", dir=spool_dir)
    path = Path(name)
    try:
        digest = hashlib.sha256()
        size = 0
        with os.fdopen(fd, "wb") as out:
            head = _read_exactly(stream, HEAD)
            head, zeroed = sanitize_preamble(head)
            digest.update(head)
            out.write(head)
            size += len(head)
            while chunk := stream.read(CHUNK):
                digest.update(chunk)
                out.write(chunk)
                size += len(chunk)
        yield _Spool(path, digest.hexdigest(), size, zeroed)
    finally:
        path.unlink(missing_ok=True)


def _read_exactly(stream: BinaryIO, n: int) -> bytes:
    parts: list[bytes] = []
    while n > 0:
        chunk = stream.read(n)
        if not chunk:
            break
        parts.append(chunk)
        n -= len(chunk)
    return b"".join(parts)


def _hash_file(path: Path) -> tuple[str, int]:
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fp:
        while chunk := fp.read(CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


@contextlib.contextmanager
def _as_part10(path: Path, parsed: ParsedInstance, spool_dir: Path) -> Iterator[_Spool]:
    """Write a bare dataset (no preamble, no file meta) as a Part 10 file."""
    try:
        ds = dcmread(path, force=True)
        implicit, little = getattr(ds, "original_encoding", (True, True))
        meta = FileMetaDataset()
        meta.MediaStorageSOPClassUID = UID(parsed.sop_class_uid)
        meta.MediaStorageSOPInstanceUID = UID(parsed.sop_instance_uid)
        meta.TransferSyntaxUID = (
            ImplicitVRLittleEndian
            if implicit
            else (ExplicitVRLittleEndian if little is not False else ExplicitVRBigEndian)
        )
        meta.ImplementationClassUID = PYDICOM_IMPLEMENTATION_UID
        ds.file_meta = meta
        buffer = io.BytesIO()
        ds.save_as(buffer, enforce_file_format=True)
    except InvalidInstance:
        raise
    except Exception as exc:
        raise InvalidInstance("bare_dataset_unreadable") from exc
    buffer.seek(0)
    with _copy_to_spool(buffer, spool_dir) as spool:
        yield spool


# -- indexing ---------------------------------------------------------------------------


def _store(
    session: Session,
    prepared: PreparedInstance,
    origin: str,
    actor: Actor | None,
) -> Outcome:
    parsed, fields, key = prepared.parsed, prepared.fields, prepared.key
    settings = prepared.settings
    ids = _ids(parsed, fields)
    notes = list(parsed.warnings)

    def result(status: Literal["stored", "duplicate"]) -> Outcome:
        return Outcome(status, notes=tuple(notes), **ids)

    storage = get_storage(settings)
    found = session.connection().execute(IDENTITY, {"uid": parsed.sop_instance_uid}).first()
    if found is not None and found.deleted_at is None:
        if _same_instance(found, prepared):
            _audit_resend(session, prepared, found, origin, actor)
            return result("duplicate")
        if settings.ingest.duplicate_policy != "overwrite":
            if prepared.object_written:  # no row names this content's key: ours alone
                _delete_quietly(storage, key)
            raise InstanceConflict(ids)
    if not prepared.object_written:
        _write_object(prepared)
    if found is None and (known := _known_parents(session, parsed, fields)) is not None:
        _insert_under(session, known, prepared, origin, actor)
        return result("stored")
    existing = session.get(Instance, found.id) if found is not None else None

    patient, new_patient = _upsert_patient(session, fields)
    study, new_study, note = _upsert_study(session, patient, parsed.study_instance_uid, fields)
    if note:
        notes.append(note)
    series, new_series = _upsert_series(session, study, parsed.series_instance_uid, fields)

    def stored(*, overwrite: bool = False) -> Outcome:
        _after_store(session, series)
        new = (new_patient, new_study, new_series)
        _emit(session, prepared, origin, patient.id, study.id, series.id, actor, new=new,
              overwrite=overwrite)  # fmt: skip
        return result("stored")

    values = _instance_values(prepared, origin)

    if existing is not None and existing.deleted_at is None:
        # Policy "overwrite": replace in place (counts unchanged), drop the old object later.
        old_key = existing.storage_key
        for name, value in values.items():
            setattr(existing, name, value)
        existing.series_pk = series.id
        existing.received_at = utcnow()
        session.flush()
        _bump_series(session, series.id, instances=0)
        _delete_object_after_commit(session, old_key, key)
        audit.record(
            session, "image.overwrite", actor, resource_type="study",
            resource_id=parsed.study_instance_uid, patient_id=fields["patient_id"],
            detail={"sop_instance_uid": parsed.sop_instance_uid, "origin": origin},
        )  # fmt: skip
        return stored(overwrite=True)

    if existing is not None:  # soft-deleted earlier: received again, so it lives again
        old_key = existing.storage_key
        for name, value in values.items():
            setattr(existing, name, value)
        existing.series_pk = series.id
        existing.deleted_at = None
        existing.received_at = utcnow()
        session.flush()
        _delete_object_after_commit(session, old_key, key)
    else:
        # A Core INSERT: the row is not needed as an object (no unit-of-work round trip).
        row = {"sop_instance_uid": parsed.sop_instance_uid, "series_pk": series.id, **values}
        try:
            if session.get_bind().dialect.name == "sqlite":
                # SQLite's write lock, held since the existence check, excludes any race.
                session.execute(INSERT_INSTANCE, row)
            else:
                with session.begin_nested():
                    session.execute(INSERT_INSTANCE, row)
        except IntegrityError:
            # Another transaction stored this UID at the same moment: the unique
            # constraint decided; we are the duplicate (or the conflict).
            winner = _instance(session, parsed.sop_instance_uid, share_lock=True)
            if winner is not None and _same_instance(winner, prepared):
                _audit_resend(session, prepared, winner, origin, actor)
                return result("duplicate")
            if winner is not None:
                _delete_quietly(storage, key)
            raise InstanceConflict(ids) from None
    _bump_series(session, series.id, instances=1)
    _bump_study(session, study.id, instances=1)
    _audit_store(session, prepared, origin, actor)
    return stored()


def _instance_values(prepared: PreparedInstance, origin: str) -> dict[str, Any]:
    """The instance row's values (all but its UID and series)."""
    parsed, spool = prepared.parsed, prepared.spool
    return {
        "sop_class_uid": parsed.sop_class_uid,
        "transfer_syntax_uid": parsed.transfer_syntax_uid,
        "size": spool.size,
        "sha256": spool.sha256,
        "dataset_digest": parsed.dataset_digest,
        "pixel_digest": prepared.pixel_digest,
        "storage_key": prepared.key,
        "verified_fingerprint": prepared.fingerprint,
        "corrupt_at": None,
        "origin": origin[:80],
        **prepared.fields["instance"],
    }


def _audit_store(
    session: Session, prepared: PreparedInstance, origin: str, actor: Actor | None
) -> None:
    parsed = prepared.parsed
    audit.record(
        session, "image.store", actor, resource_type="study",
        resource_id=parsed.study_instance_uid, patient_id=prepared.fields["patient_id"],
        detail={"sop_instance_uid": parsed.sop_instance_uid, "origin": origin},
    )  # fmt: skip


# -- the common case: a new instance of a known series, in fewer statements --------------

#: The stored identity of an instance (what _same_instance compares), by SOP Instance UID.
IDENTITY = select(
    Instance.id,
    Instance.sha256,
    Instance.deleted_at,
    Instance.dataset_digest,
    Instance.pixel_digest,
    Instance.transfer_syntax_uid,
    Instance.storage_key,
).where(Instance.sop_instance_uid == bindparam("uid"))

# The attributes an instance may set on its patient and study rows (see _index_fields).
PATIENT_FIELDS = (
    "patient_name", "name_alphabetic", "name_ideographic", "name_phonetic", "name_search",
    "birth_date", "sex",
)  # fmt: skip
STUDY_FIELDS = (
    "patient_name", "patient_birth_date", "patient_sex", "accession_number", "study_id",
    "study_date", "study_time", "study_description", "referring_physician_name",
    "referring_physician_search", "department",
)  # fmt: skip

#: A series with its study and patient, in one statement: all that _known_parents checks.
PARENTS = (
    select(
        Series.id.label("series_pk"),
        Series.refresh_requested_at,
        Study.id.label("study_pk"),
        Study.study_instance_uid,
        Study.deleted_at.label("study_deleted_at"),
        Patient.id.label("patient_pk"),
        Patient.patient_id,
        Patient.issuer_of_patient_id,
        *(Patient.__table__.c[name].label(f"p_{name}") for name in PATIENT_FIELDS),
        *(Study.__table__.c[name].label(f"s_{name}") for name in STUDY_FIELDS),
    )
    .join_from(Series, Study, Series.study_pk == Study.id)
    .join(Patient, Study.patient_pk == Patient.id)
    .where(Series.series_instance_uid == bindparam("uid"), Series.deleted_at.is_(None))
)


_studies, _series = cast(Table, Study.__table__), cast(Table, Series.__table__)
ADD_TO_STUDY = (
    update(_studies)
    .where(_studies.c.id == bindparam("pk"))
    .values(number_of_instances=_studies.c.number_of_instances + 1, updated_at=bindparam("now"))
)
ADD_TO_SERIES = (
    update(_series)
    .where(_series.c.id == bindparam("pk"))
    .values(
        number_of_instances=_series.c.number_of_instances + 1,
        metadata_version=_series.c.metadata_version + 1,
        updated_at=bindparam("now"),
    )
)
ADD_TO_SERIES_AND_REQUEST = ADD_TO_SERIES.values(refresh_requested_at=bindparam("now"))


@dataclass(frozen=True)
class _Parents:
    patient_pk: int
    study_pk: int
    series_pk: int
    refresh_requested_at: datetime | None


def _known_parents(
    session: Session, parsed: ParsedInstance, fields: dict[str, Any]
) -> _Parents | None:
    """The rows of a live series, its study and patient, if this instance changes none of
    them (the common case: the 2nd to Nth instance of a series), else None.

    SQLite only: there the transaction holds the database's write lock since BEGIN, so
    this plain read is current. Elsewhere the upserts' row locks (patient, study, series,
    in that order) are what serialize concurrent ingests, so they stay.
    """
    if session.get_bind().dialect.name != "sqlite":
        return None
    row = session.connection().execute(PARENTS, {"uid": parsed.series_instance_uid}).first()
    if row is None or row.study_deleted_at is not None:
        return None
    if row.study_instance_uid != parsed.study_instance_uid:
        return None  # moved to another study: the upserts handle it
    if (row.patient_id, row.issuer_of_patient_id) != (
        fields["patient_id"],
        fields["issuer_of_patient_id"],
    ):
        return None  # another patient: the upserts note it
    current = row._mapping
    for name, value in fields["patient"].items():  # _upsert_patient: the latest wins
        if value not in (None, "") and current[f"p_{name}"] != value:
            return None
    for name, value in fields["study"].items():  # _upsert_study: fills empty attributes
        if value not in (None, "") and current[f"s_{name}"] in (None, ""):
            return None
    return _Parents(row.patient_pk, row.study_pk, row.series_pk, row.refresh_requested_at)


def _insert_under(
    session: Session,
    parents: _Parents,
    prepared: PreparedInstance,
    origin: str,
    actor: Actor | None,
) -> None:
    """Index a new instance under known, unchanged parents: the instance row, one update
    of the study, one of the series (its counts and, if due, its refresh request)."""
    from hounsfield.studies.service import queue_refresh, refresh_due

    parsed = prepared.parsed
    now = utcnow()
    refresh = refresh_due(parents.refresh_requested_at, now)
    row = {
        "sop_instance_uid": parsed.sop_instance_uid,
        "series_pk": parents.series_pk,
        **_instance_values(prepared, origin),
    }
    # Core statements built once, on the connection: no ORM execution layer per call.
    connection = session.connection()
    connection.execute(INSERT_INSTANCE, row)
    connection.execute(ADD_TO_STUDY, {"pk": parents.study_pk, "now": now})
    add_to_series = ADD_TO_SERIES_AND_REQUEST if refresh else ADD_TO_SERIES
    connection.execute(add_to_series, {"pk": parents.series_pk, "now": now})
    _audit_store(session, prepared, origin, actor)
    if refresh:
        queue_refresh(session, parsed.series_instance_uid)
    _emit(session, prepared, origin, parents.patient_pk, parents.study_pk, parents.series_pk, actor)


def _emit(
    session: Session,
    prepared: PreparedInstance,
    origin: str,
    patient_pk: int,
    study_pk: int,
    series_pk: int,
    actor: Actor | None,
    *,
    new: tuple[bool, bool, bool] = (False, False, False),
    overwrite: bool = False,
) -> None:
    """The stored instance's event for the hooks (see ingest.hooks)."""
    parsed, fields = prepared.parsed, prepared.fields
    actor_id = getattr(actor, "id", None)
    hooks.emit(
        session,
        hooks.Stored(
            origin=origin, sop_class_uid=parsed.sop_class_uid,
            sop_instance_uid=parsed.sop_instance_uid,
            series_instance_uid=parsed.series_instance_uid,
            study_instance_uid=parsed.study_instance_uid,
            patient_id=fields["patient_id"],
            issuer_of_patient_id=fields["issuer_of_patient_id"],
            modality=fields["series"]["modality"], patient_pk=patient_pk,
            study_pk=study_pk, series_pk=series_pk, new_patient=new[0],
            new_study=new[1], new_series=new[2], overwrite=overwrite,
            actor_id=actor_id if isinstance(actor_id, uuid.UUID) else None,
        ),
    )  # fmt: skip


def _audit_resend(
    session: Session,
    prepared: PreparedInstance,
    stored: _StoredIdentity,
    origin: str,
    actor: Actor | None,
) -> None:
    """A resend keeps the stored copy; the audit says it came, and whether byte for byte."""
    parsed = prepared.parsed
    audit.record(
        session, "image.resend", actor, resource_type="study",
        resource_id=parsed.study_instance_uid, patient_id=prepared.fields["patient_id"],
        detail={"sop_instance_uid": parsed.sop_instance_uid, "origin": origin,
                "identical_bytes": stored.sha256 == prepared.spool.sha256,
                "transfer_syntax_uid": parsed.transfer_syntax_uid},
    )  # fmt: skip


def _after_store(session: Session, series: Series) -> None:
    from hounsfield.studies.service import request_refresh

    request_refresh(session, series)


def _instance(
    session: Session, sop_instance_uid: str, *, share_lock: bool = False
) -> Instance | None:
    query = select(Instance).where(Instance.sop_instance_uid == sop_instance_uid)
    if share_lock:  # a locking read sees the latest committed row (InnoDB repeatable read)
        query = query.with_for_update(read=True).execution_options(populate_existing=True)
    return session.scalar(query)


def _delete_quietly(storage: Any, key: str) -> None:
    try:
        storage.delete(key)
    except Exception:
        logger.warning("could not delete an unreferenced object; the sweep will")


def _delete_object_after_commit(session: Session, old_key: str, new_key: str) -> None:
    if old_key == new_key:
        return
    storage = get_storage()
    after_commit(session, lambda: _delete_quietly(storage, old_key))


T = TypeVar("T", Patient, Study, Series)


def _get_or_create(
    session: Session, model: type[T], match: dict[str, Any], values: dict[str, Any]
) -> tuple[T, bool]:
    """The row matching `match`, inserted with `values` if absent, locked for this transaction.

    An upsert rather than insert-and-catch: on MySQL/MariaDB a failed duplicate insert
    leaves a shared lock that deadlocks concurrent ingests of one study as soon as they
    update the row; INSERT ... ON DUPLICATE KEY UPDATE takes the exclusive lock at once.
    Every ingest thus locks patient → study → series in the same order.
    """
    table: Any = model.__table__
    row_values = {**values, **match, "updated_at": utcnow()}
    dialect = session.get_bind().dialect.name
    locked = select(model).filter_by(**match).with_for_update()
    locked = locked.execution_options(populate_existing=True)
    statement: Any
    if dialect not in ("mysql", "mariadb"):
        # The common case first: the row exists. (Not on MySQL, where a locking read of
        # a missing row takes a gap lock that deadlocks with concurrent inserts.)
        row = session.scalar(locked)
        if row is not None:
            return row, False
    if dialect in ("mysql", "mariadb"):
        statement = mysql_insert(table).values(**row_values)
        # rowcount: 1 inserted, 2 updated (updated_at differs by microseconds)
        statement = statement.on_duplicate_key_update(updated_at=statement.inserted.updated_at)
        created = session.execute(statement).rowcount == 1  # type: ignore[attr-defined]
    else:
        insert = postgresql_insert if dialect == "postgresql" else sqlite_insert
        statement = (
            insert(table).values(**row_values).on_conflict_do_nothing().returning(table.c.id)
        )
        created = session.execute(statement).first() is not None
    row = session.scalar(locked)
    assert row is not None
    return row, created


def _upsert_patient(session: Session, fields: dict[str, Any]) -> tuple[Patient, bool]:
    """The patient row, and whether this instance created it."""
    patient_fields: dict[str, Any] = fields["patient"]
    match = {
        "patient_id": fields["patient_id"],
        "issuer_of_patient_id": fields["issuer_of_patient_id"],
    }
    patient, created = _get_or_create(session, Patient, match, patient_fields)
    if not created:
        # The latest instance carries the latest demographics (a corrected name, say).
        for name, value in patient_fields.items():
            if value not in (None, "") and getattr(patient, name) != value:
                setattr(patient, name, value)
    return patient, created


def _upsert_study(
    session: Session, patient: Patient, uid: str, fields: dict[str, Any]
) -> tuple[Study, bool, Note | None]:
    """The study row, whether it is new (created, or revived after a delete), a note."""
    study_fields: dict[str, Any] = fields["study"]
    study, created = _get_or_create(
        session,
        Study,
        {"study_instance_uid": uid},
        {"patient_pk": patient.id, **study_fields},
    )
    note = None
    new = created
    if not created:
        if study.deleted_at is not None:
            new = True
            study = _lock(session, Study, study.id)
            study.deleted_at = None
            study.number_of_series = 0
            study.number_of_instances = 0
            study.modalities_in_study = ""
            study.received_at = utcnow()
        for name, value in study_fields.items():
            if value not in (None, "") and getattr(study, name) in (None, ""):
                setattr(study, name, value)
        if study.patient_pk != patient.id:
            note = Note("other_patient")
    return study, new, note


def _upsert_series(
    session: Session, study: Study, uid: str, fields: dict[str, Any]
) -> tuple[Series, bool]:
    """The series row, and whether it is new in its study (created, revived or moved)."""
    series_fields: dict[str, Any] = fields["series"]
    series, created = _get_or_create(
        session,
        Series,
        {"series_instance_uid": uid},
        {"study_pk": study.id, **series_fields},
    )
    if not created and series.deleted_at is None and series.study_pk == study.id:
        return series, False
    if not created:  # soft-deleted earlier (or moved): it counts as new in its study
        series = _lock(session, Series, series.id)
        series.deleted_at = None
        series.study_pk = study.id
        series.number_of_instances = 0
        series.metadata_version += 1
    locked = _lock(session, Study, study.id)
    modalities = set(locked.modalities)
    if series.modality:
        modalities.add(series.modality)
    locked.modalities_in_study = "\\".join(sorted(modalities))[:128]
    locked.number_of_series += 1
    session.flush()
    return series, True


def _lock(session: Session, model: type[T], pk: int) -> T:
    row = session.scalar(
        select(model)
        .where(model.id == pk)
        .with_for_update()
        .execution_options(populate_existing=True)
    )
    assert row is not None
    return row


def _bump_series(session: Session, pk: int, *, instances: int) -> None:
    session.execute(
        update(Series)
        .where(Series.id == pk)
        .values(
            number_of_instances=Series.number_of_instances + instances,
            metadata_version=Series.metadata_version + 1,
            updated_at=utcnow(),
        )
        .execution_options(synchronize_session=False)
    )


def _bump_study(session: Session, pk: int, *, instances: int) -> None:
    session.execute(
        update(Study)
        .where(Study.id == pk)
        .values(number_of_instances=Study.number_of_instances + instances, updated_at=utcnow())
        .execution_options(synchronize_session=False)
    )


# -- attribute extraction --------------------------------------------------------------


def _text(ds: Dataset, keyword: str, length: int) -> str:
    value = ds.get(keyword)
    if value is None:
        return ""
    if not isinstance(value, str) and hasattr(value, "__iter__"):
        value = "\\".join(str(v) for v in value)
    return clean_text(str(value))[:length]


def _int(ds: Dataset, keyword: str) -> int | None:
    value = ds.get(keyword)
    if value in (None, ""):
        return None
    try:
        number = int(value)
    except (TypeError, ValueError):
        return None
    return number if -(2**31) <= number < 2**31 else None


def parse_da(value: object) -> date | None:
    """A DICOM DA value (YYYYMMDD; tolerates YYYY.MM.DD) as a date, None if invalid."""
    text = str(value or "").strip().replace(".", "").replace("-", "")
    if len(text) != 8 or not text.isdigit():
        return None
    try:
        return date(int(text[:4]), int(text[4:6]), int(text[6:]))
    except ValueError:
        return None


def normalize_tm(value: object) -> str:
    """A DICOM TM value as HHMMSS[.ffffff] (HH and HHMM padded), '' if invalid."""
    text = str(value or "").strip().replace(":", "")
    whole, _, fraction = text.partition(".")
    if not whole.isdigit() or len(whole) not in (2, 4, 6) or (fraction and not fraction.isdigit()):
        return ""
    whole = whole.ljust(6, "0")
    return f"{whole}.{fraction[:6]}" if fraction else whole


def _issuer(ds: Dataset, patient_id: str) -> str:
    """The issuer that, with the Patient ID, names the patient row.

    Without a Patient ID the patient cannot be told apart from other anonymous ones, so
    the study gets a patient of its own: its issuer is a private marker (see
    `studies.models.ANONYMOUS_ISSUER_PREFIX`) that queries never show.
    """
    if patient_id:
        return _text(ds, "IssuerOfPatientID", 64)
    study_uid = str(ds.get("StudyInstanceUID", ""))
    return ANONYMOUS_ISSUER_PREFIX + hashlib.sha256(study_uid.encode()).hexdigest()[:40]


def _index_fields(ds: Dataset) -> dict[str, Any]:
    name = person_name_groups(ds.get("PatientName"))
    referring = person_name_groups(ds.get("ReferringPhysicianName"))
    patient_id = _text(ds, "PatientID", 64)
    return {
        "patient_id": patient_id,
        "issuer_of_patient_id": _issuer(ds, patient_id),
        "patient": {
            "patient_name": name.full[:324],
            "name_alphabetic": normalize_text(name.alphabetic)[:200],
            "name_ideographic": normalize_text(name.ideographic)[:200],
            "name_phonetic": normalize_text(name.phonetic)[:200],
            "name_search": search_text(name)[:1024],
            "birth_date": parse_da(ds.get("PatientBirthDate")),
            "sex": _text(ds, "PatientSex", 16),
        },
        "study": {
            "patient_name": name.full[:324],
            "patient_birth_date": parse_da(ds.get("PatientBirthDate")),
            "patient_sex": _text(ds, "PatientSex", 16),
            "accession_number": _text(ds, "AccessionNumber", 64),
            "study_id": _text(ds, "StudyID", 64),
            "study_date": parse_da(ds.get("StudyDate")),
            "study_time": normalize_tm(ds.get("StudyTime")),
            "study_description": _text(ds, "StudyDescription", 255),
            "referring_physician_name": referring.full[:324],
            "referring_physician_search": search_text(referring)[:1024],
            "department": _text(ds, "InstitutionalDepartmentName", 64),
        },
        "series": {
            "modality": _text(ds, "Modality", 16),
            "series_number": _int(ds, "SeriesNumber"),
            "series_description": _text(ds, "SeriesDescription", 255),
            "body_part_examined": _text(ds, "BodyPartExamined", 64),
        },
        "instance": {
            "instance_number": _int(ds, "InstanceNumber"),
            "rows": _int(ds, "Rows"),
            "columns": _int(ds, "Columns"),
            "number_of_frames": _int(ds, "NumberOfFrames"),
            "bits_allocated": _int(ds, "BitsAllocated"),
            "photometric_interpretation": _text(ds, "PhotometricInterpretation", 16),
        },
    }


# Domains that react to stored instances register their hooks when imported; importing
# them here makes every process that ingests (API, DICOM listener, worker) register them.
import hounsfield.patients.reconcile  # noqa: E402,F401  (patient records of new studies)
from hounsfield.notifications import emitters as _emitters  # noqa: E402,F401  (assignees' images)
