"""Record audit events and keep their hash chain (DICOM PS3.15 A.5 event codes).

Rows are inserted inside the transaction of the change they describe, so they commit (or
roll back) with it, and without contention. Sealing, which gives each row its place and
hash in the chain, runs afterwards under a lock on the single chain-head row.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from enum import IntEnum
from typing import Any, Protocol

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield import context
from hounsfield.audit.models import AuditChainHead, AuditEvent
from hounsfield.db import after_commit, transaction, utcnow

logger = logging.getLogger(__name__)

GENESIS = "0" * 64
SEAL_BATCH = 500
FLUSH_BATCH = 200

_buffer_lock = threading.Lock()
_buffer: list[AuditEvent] = []


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
    "auth.password_change": "110113",
    "user.create": "110113",
    "user.update": "110113",
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
    "image.retrieve": "110106",  # Export: instances leave the archive (WADO-RS)
    "image.store": "110107",  # Import (STOW-RS, uploads)
    "image.export": "110106",  # Export (study zip, de-identified or not)
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


def _event(
    action: str,
    actor: Actor | None,
    *,
    outcome: Outcome = Outcome.success,
    resource_type: str | None = None,
    resource_id: str | None = None,
    patient_id: str | None = None,
    detail: dict[str, Any] | None = None,
) -> AuditEvent:
    return AuditEvent(
        occurred_at=utcnow(),
        action=action,
        event_code=EVENT_CODES.get(action, DEFAULT_EVENT_CODE),
        outcome=int(outcome),
        actor_id=str(actor.id) if actor is not None and actor.id is not None else None,
        actor_username=actor.username if actor is not None else None,
        actor_roles=",".join(actor.role_names) if actor is not None else "",
        resource_type=resource_type,
        resource_id=resource_id,
        patient_id=patient_id,
        client_ip=context.client_ip.get(),
        request_id=context.request_id.get(),
        detail=json.dumps(detail or {}, sort_keys=True, ensure_ascii=False),
    )


def record(session: Session, action: str, actor: Actor | None, **fields: Any) -> AuditEvent:
    """Add one audit event to this transaction; it is sealed into the chain after commit.

    Fields: outcome, resource_type, resource_id, patient_id, detail (never patient names).
    """
    event = _event(action, actor, **fields)
    session.add(event)
    after_commit(session, sealer.notify)
    return event


def record_access(action: str, actor: Actor | None, **fields: Any) -> None:
    """Record a read of patient data without a write in the request: buffered, written in
    batches by the sealer thread within about a second (and at shutdown)."""
    event = _event(action, actor, **fields)
    with _buffer_lock:
        _buffer.append(event)
        full = len(_buffer) >= FLUSH_BATCH
    if full:
        sealer.notify()


def flush_buffer() -> int:
    """Write buffered access events in one transaction. Returns how many."""
    with _buffer_lock:
        events = list(_buffer)
        _buffer.clear()
    if not events:
        return 0
    try:
        with transaction() as session:
            session.add_all(events)
    except Exception:
        with _buffer_lock:  # keep them for the next attempt, oldest first
            _buffer[:0] = [_event_copy(e) for e in events]
        raise
    return len(events)


def _event_copy(event: AuditEvent) -> AuditEvent:
    columns = AuditEvent.__table__.columns.keys()
    return AuditEvent(**{c: getattr(event, c) for c in columns if c != "id"})


def record_now(action: str, actor: Actor | None, **fields: Any) -> None:
    """Record an event in a transaction of its own: for refusals whose request rolls back."""
    with transaction() as session:
        record(session, action, actor, **fields)


def digest(event: AuditEvent) -> str:
    """SHA-256 over the row's content and its predecessor's hash."""
    content = [
        event.seq,
        event.occurred_at.isoformat(),
        event.action,
        event.event_code,
        event.outcome,
        event.actor_id,
        event.actor_username,
        event.actor_roles,
        event.resource_type,
        event.resource_id,
        event.patient_id,
        event.client_ip,
        event.request_id,
        event.detail,
        event.prev_hash,
    ]
    payload = json.dumps(content, ensure_ascii=False, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def _head(session: Session) -> AuditChainHead:
    head = session.get(AuditChainHead, 1, with_for_update=True)
    if head is None:
        head = AuditChainHead(id=1, seq=0, hash=GENESIS)
        session.add(head)
        session.flush()
    return head


def seal_pending(session: Session) -> int:
    """Give unsealed rows their place in the chain, oldest first. Returns how many."""
    head = _head(session)
    rows = session.scalars(
        select(AuditEvent).where(AuditEvent.seq.is_(None)).order_by(AuditEvent.id).limit(SEAL_BATCH)
    ).all()
    for row in rows:
        row.seq = head.seq + 1
        row.prev_hash = head.hash
        row.hash = digest(row)
        head.seq, head.hash = row.seq, row.hash
    return len(rows)


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


class Sealer:
    """A background thread that writes buffered access events and seals new rows."""

    def __init__(self) -> None:
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def notify(self) -> None:
        self._wake.set()

    def start(self) -> None:
        if self._thread is None:
            self._stop.clear()
            self._thread = threading.Thread(target=self._run, name="audit-sealer", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
            self._thread = None
        self._seal()

    def _seal(self) -> None:
        try:
            flush_buffer()
            seal_all()
        except Exception:
            logger.exception("audit sealing failed; will retry")

    def _run(self) -> None:
        while not self._stop.is_set():
            self._wake.wait(timeout=1)
            self._wake.clear()
            self._seal()


sealer = Sealer()
