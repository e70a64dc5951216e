"""Record audit events and keep their hash chain (DICOM PS3.15 A.5 event codes).

Changes are audited inside their own transaction (`record`), so the event commits or rolls
back with them. Reads of patient data have no transaction of their own: `record_access`
appends the event to a local fsync'd journal and returns once it is on disk, so no access
is answered before its audit event is durable. The sealer thread writes journal segments
into the table (and replays those of a process that died), then gives new rows their place
and hash in the chain in batches, under a lock on the single chain-head row.
"""

from __future__ import annotations

import contextvars
import hashlib
import json
import logging
import threading
import time
import uuid
from collections.abc import Iterable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from enum import IntEnum
from typing import Any, Protocol

from sqlalchemy import delete, func, insert, select, update
from sqlalchemy.orm import Session

from hounsfield import context
from hounsfield.audit.journal import Journal, Segment
from hounsfield.audit.models import AuditChainHead, AuditEvent, AuditJournalSegment
from hounsfield.config import get_settings
from hounsfield.db import after_commit, transaction, utcnow
from hounsfield.periodic import PeriodicThread

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
SEAL_BATCH = 2000
SEGMENT_MARKER_DAYS = 1  # markers only guard the moment between commit and unlink


class Outcome(IntEnum):
    """DICOM A.5 EventOutcomeIndicator."""

    success = 0
    minor_failure = 4
    serious_failure = 8
    major_failure = 12


# action → DICOM PS3.15 A.5 EventID (DCM code).
EVENT_CODES: dict[str, str] = {
    "auth.login": "110114",  # User Authentication
    "auth.logout": "110114",
    "auth.refresh_reuse": "110113",  # Security Alert
    "auth.denied": "110113",  # a 401: no or bad credentials
    "access.denied": "110113",  # a 403: missing permission
    "auth.api_key": "110114",  # a request authenticated by an API key
    "api_key.create": "110113",
    "api_key.revoke": "110113",
    "auth.break_glass": "110113",  # emergency access claimed (SECURITY.md A11)
    "group.create": "110113",
    "auth.password_change": "110113",
    "user.create": "110113",
    "user.update": "110113",
    "user.unlock": "110113",
    "role.create": "110113",
    "role.update": "110113",
    "role.delete": "110113",
    "audit.read": "110101",  # Audit Log Used
    "device.create": "110113",
    "device.update": "110113",
    "device.delete": "110113",
    "dimse.association": "110114",  # node authentication of a DICOM peer
    "dimse.reject": "110113",
    "dimse.find": "110112",  # Query
    "dimse.move": "110106",  # Export
    "dimse.get": "110106",
    "dimse.send": "110106",
    "dimse.retrieve": "110107",  # Import
    "dimse.commitment": "110110",
    "image.query": "110112",  # Query (QIDO-RS)
    "image.refused": "110104",  # DICOM Instances Transferred, failed: a refused instance
    "image.retrieve": "110106",  # Export: instances leave the archive (WADO-RS)
    "image.store": "110107",  # Import (STOW-RS, uploads)
    "image.resend": "110107",  # Import: the same instance again, kept once
    "image.export": "110106",  # Export (study zip, de-identified or not)
    "ai.model_register": "110113",  # a model that will read patient images: security-relevant
    "ai.model_update": "110113",
    "ai.run": "110110",  # Patient Record: a study is analysed
    "ai.read": "110110",
    "ai.review": "110110",
    "backup.create": "110106",  # Export: every object and record leaves for the target
    "backup.restore": "110107",  # Import: an instance rebuilt from a snapshot
}
DEFAULT_EVENT_CODE = "110110"  # Patient Record


class Actor(Protocol):
    @property
    def id(self) -> Any: ...
    @property
    def username(self) -> str: ...
    @property
    def role_names(self) -> list[str]: ...


@dataclass(frozen=True)
class Anonymous:
    """Someone not (yet) authenticated, named by what they claimed."""

    username: str
    id: None = None

    @property
    def role_names(self) -> list[str]:
        return []


def _fields(
    action: str,
    actor: Actor | None,
    *,
    outcome: Outcome = Outcome.success,
    resource_type: str | None = None,
    resource_id: str | None = None,
    patient_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> dict[str, Any]:
    return {
        "occurred_at": utcnow(),
        "action": action,
        "event_code": EVENT_CODES.get(action, DEFAULT_EVENT_CODE),
        "outcome": int(outcome),
        "actor_id": str(actor.id) if actor is not None and actor.id is not None else None,
        "actor_username": actor.username if actor is not None else None,
        "actor_roles": ",".join(actor.role_names) if actor is not None else "",
        "resource_type": resource_type,
        "resource_id": resource_id,
        "patient_id": patient_id,
        "client_ip": context.client_ip.get(),
        "request_id": context.request_id.get(),
        "detail": json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
    }


#: The transfer (DIMSE association, STOW-RS or upload request) being audited, if any.
_batch: contextvars.ContextVar[str | None] = contextvars.ContextVar("audit_batch", default=None)

#: Actions whose events name one instance each; inside a batch they become one event.
BATCHED = frozenset({"image.store"})
#: The sealer leaves the journal segment alone while batches are active (an instance event
#: within BATCH_IDLE_S), so that a transfer is not split, for at most BATCH_HOLD_MAX_S.
BATCH_IDLE_S = 1.0
BATCH_HOLD_MAX_S = 10.0
_last_batched = 0.0


@contextmanager
def batch(key: str | None = None) -> Iterator[str]:
    """Within this block, instance events of one transfer merge into one audit event that
    names its instances (DICOM A.5 allows several per event), instead of one per instance.

    Each one is still durable before its instance is acknowledged: it is journalled as its
    transaction commits, and the drain merges the journalled events of a batch."""
    token = _batch.set(key or uuid.uuid4().hex)
    try:
        yield _batch.get() or ""
    finally:
        _batch.reset(token)


def record(session: Session, action: str, actor: Actor | None, **fields: Any) -> AuditEvent:
    """Add one audit event to this transaction; the sealer chains it after commit.

    Fields: outcome, resource_type, resource_id, patient_id, detail (never patient names).
    Inside a `batch`, an event of a BATCHED action whose detail names one instance
    (`sop_instance_uid`) is journalled when the transaction commits instead, and merged
    with the batch's others.
    """
    values = _fields(action, actor, **fields)
    key = _batch.get()
    if key is not None and action in BATCHED and "sop_instance_uid" in (fields.get("detail") or {}):
        journalled = {**values, "occurred_at": values["occurred_at"].isoformat(), "batch": key}
        after_commit(session, lambda: _append_batched(journalled))
        return AuditEvent(**values)
    event = AuditEvent(**values)
    session.add(event)
    return event


def _append_batched(event: dict[str, Any]) -> None:
    global _last_batched
    journal().append(event)
    _last_batched = time.monotonic()


def record_now(action: str, actor: Actor | None, **fields: Any) -> None:
    """Record an event outside the caller's transaction: for refusals whose request rolls back.

    It goes through the fsync'd journal (durable on return, inserted by the drain), never a
    transaction of its own: on SQLite a second writer inside a request's write transaction
    would wait for a lock its own request holds."""
    record_access(action, actor, **fields)


# -- reads: the journal ----------------------------------------------------------------

_journal: Journal | None = None


def journal() -> Journal:
    """This process's journal, under the data directory (tests change the directory)."""
    global _journal
    directory = get_settings().data_dir / "audit-journal"
    if _journal is None or _journal.directory != directory:
        _journal = Journal(directory)
    return _journal


def record_access(action: str, actor: Actor | None, **fields: Any) -> None:
    """Record a read of patient data; returns once the event is durable (fsync'd journal).

    Raises OSError when the journal cannot be written: the caller must not answer then.
    """
    event = _fields(action, actor, **fields)
    event["occurred_at"] = event["occurred_at"].isoformat()
    journal().append(event)


def record_connection(action: str, actor: Actor | None, **fields: Any) -> None:
    """Record an event that touches no patient data (a DICOM association opening): written
    to the journal without waiting for its fsync. The next access's event, fsync'd before
    that access is answered, covers it (same segment, written earlier), as do the drain
    and a rotation; a crash of the process alone loses nothing (the line is in the page
    cache). Saves one fsync (~5 ms here) on every association's set-up."""
    event = _fields(action, actor, **fields)
    event["occurred_at"] = event["occurred_at"].isoformat()
    journal().append(event, sync=False)


def _merged(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """Rows to insert: a batch's instance events with equal facts become one row naming
    all its instances (first seen first); other records stay one row each."""
    rows: list[dict[str, Any]] = []
    groups: dict[tuple[Any, ...], dict[str, Any]] = {}
    for record in records:
        record["occurred_at"] = datetime.fromisoformat(record["occurred_at"])
        key = record.pop("batch", None)
        if key is None:
            rows.append(record)
            continue
        detail = json.loads(record["detail"])
        uid = detail.pop("sop_instance_uid")
        facts = (key, json.dumps(detail, sort_keys=True), *(record[c] for c in _MERGE_FACTS))
        row = groups.get(facts)
        if row is None:
            row = groups[facts] = {**record, "detail": detail | {"instances": []}}
            rows.append(row)
        row["detail"]["instances"].append(uid)
    for row in groups.values():
        row["detail"] = json.dumps(row["detail"], sort_keys=True, ensure_ascii=False)
    return rows


_MERGE_FACTS = (
    "action", "outcome", "actor_id", "actor_username", "resource_type", "resource_id",
    "patient_id", "client_ip",
)  # fmt: skip


def _write_segment(segment: Segment) -> int:
    """Insert a segment's events and its marker in one transaction; 0 if already done."""
    rows = _merged(segment.records())
    with transaction(write=True) as session:  # reads then writes: take the lock first
        if session.get(AuditJournalSegment, segment.name) is not None:
            return 0  # written before a crash kept the file: never twice
        if rows:
            session.execute(insert(AuditEvent), rows)
        session.add(AuditJournalSegment(name=segment.name))
        cutoff = utcnow() - timedelta(days=SEGMENT_MARKER_DAYS)
        session.execute(delete(AuditJournalSegment).where(AuditJournalSegment.drained_at < cutoff))
    return len(rows)


def flush_buffer(*, hold_batches: bool = False) -> int:
    """Write journalled access events into the table (ours, and orphans of dead
    processes). Returns how many rows. A segment that fails stays on disk for the next try.

    `hold_batches` (the sealer thread): keep our segment open while a transfer is still
    adding instance events, so that it becomes one event, not one per drain.

    One drain at a time per process: a caller whose events the sealer thread has just
    taken waits for that drain to commit, so that on return every event journalled before
    the call is in the table (the backup's dump, a test's query)."""
    with _drain_lock:
        j = journal()
        busy = time.monotonic() - _last_batched < BATCH_IDLE_S
        own = None if hold_batches and busy and j.age_s() < BATCH_HOLD_MAX_S else j.rotate()
        total = _drain([own]) if own else 0
        return total + _drain(j.orphans())


_drain_lock = threading.Lock()


def _drain(segments: list[Segment]) -> int:
    total, done = 0, 0
    try:
        for segment in segments:
            total += _write_segment(segment)
            segment.discard()
            done += 1
    except Exception:
        for segment in segments[done:]:
            segment.close()  # unlocked: the next drain (ours or another's) replays it
        raise
    return total


# -- the chain -------------------------------------------------------------------------

DIGESTED = (
    "seq", "occurred_at", "action", "event_code", "outcome", "actor_id", "actor_username",
    "actor_roles", "resource_type", "resource_id", "patient_id", "client_ip", "request_id",
    "detail", "prev_hash",
)  # fmt: skip


def digest_fields(values: Mapping[str, Any]) -> str:
    """SHA-256 over a row's content and its predecessor's hash."""
    content = [values[name] for name in DIGESTED]
    content[1] = content[1].isoformat()
    payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def digest(event: AuditEvent) -> str:
    return digest_fields({name: getattr(event, name) for name in DIGESTED})


def _head(session: Session) -> AuditChainHead:
    head = session.get(AuditChainHead, 1, with_for_update=True)
    if head is None:
        head = AuditChainHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


_COLUMNS = [
    AuditEvent.__table__.c[name] for name in ("id", *DIGESTED) if name not in ("seq", "prev_hash")
]


def seal_pending(session: Session) -> int:
    """Give unsealed rows their place in the chain, oldest first, in one batched UPDATE.

    Returns how many."""
    head = _head(session)
    rows = session.execute(
        select(*_COLUMNS).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(SEAL_BATCH)
    ).mappings()
    seq, prev, sealed = head.seq, head.hash, []
    for row in rows:
        seq += 1
        values = {**row, "seq": seq, "prev_hash": prev}
        prev = digest_fields(values)
        sealed.append({"id": row["id"], "seq": seq, "prev_hash": values["prev_hash"], "hash": prev})
    if sealed:  # ORM bulk UPDATE by primary key: one executemany
        session.execute(update(AuditEvent), sealed)
        head.seq, head.hash = seq, prev
    return len(sealed)


def seal_all() -> int:
    total = 0
    while True:
        with transaction(write=True) as session:
            sealed = seal_pending(session)
        total += sealed
        if sealed < SEAL_BATCH:
            return total


@dataclass
class VerifyResult:
    checked: int
    unsealed: int
    broken_seq: int | None = None
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.broken_seq is None


def verify(session: Session, batch: int = 5000) -> VerifyResult:
    """Walk the chain; name the first row whose content, link or position is wrong."""
    head = session.get(AuditChainHead, 1)
    unsealed = session.scalar(select(func.count()).where(AuditEvent.seq.is_(None))) or 0
    expected_prev, expected_seq, checked = GENESIS, 1, 0
    while True:
        rows: Iterable[AuditEvent] = session.scalars(
            select(AuditEvent)
            .where(AuditEvent.seq >= expected_seq)
            .order_by(AuditEvent.seq)
            .limit(batch)
        ).all()
        count = 0
        for row in rows:
            count += 1
            if row.seq != expected_seq:
                return VerifyResult(checked, unsealed, expected_seq, "row missing (deleted)")
            if row.prev_hash != expected_prev:
                return VerifyResult(checked, unsealed, row.seq, "link to previous row broken")
            if row.hash != digest(row):
                return VerifyResult(checked, unsealed, row.seq, "content altered")
            expected_prev, expected_seq, checked = row.hash, expected_seq + 1, checked + 1
        if count < batch:
            break
    if head is not None and (head.seq != checked or head.hash != expected_prev):
        return VerifyResult(checked, unsealed, checked + 1, "rows missing at the end (deleted)")
    return VerifyResult(checked, unsealed)


class Sealer(PeriodicThread):
    """Writes journalled access events into the table and seals new rows, in batches."""

    name = "audit-sealer"

    def __init__(self) -> None:
        super().__init__(interval_s=0.5)

    def start(self) -> None:
        # Sealing runs in batches at this pace, never once per event.
        self.interval_s = get_settings().audit.seal_interval_s
        super().start()
        if get_settings().audit.syslog_host:
            from hounsfield.audit.atna import exporter

            exporter.start()

    def run_once(self) -> None:
        flush_buffer(hold_batches=not self._stopping.is_set())
        seal_all()

    def notify(self) -> None:
        self.wake()

    def stop(self, timeout_s: float = 10.0) -> None:
        from hounsfield.audit.atna import exporter

        exporter.stop(timeout_s)  # what it has not sent waits in the table
        super().stop(timeout_s)
        try:
            self.run_once()  # what is left, before the process ends
        except Exception:
            logger.exception("audit sealing at shutdown failed; the journal keeps the events")


sealer = Sealer()
