"""Merging two patient records, and undoing it exactly.

A merge runs every registered MergeHook (hooks.py) and keeps the ids each one moved; the
source record is then hidden (`deleted_at`, `merged_into_id`) and loses its search terms.
Undo gives each hook back its own ids and restores the source and its terms, so rows
added to the target after the merge stay.
"""

from __future__ import annotations

import json
import uuid
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.orm import Session

from hounsfield.audit.service import Actor
from hounsfield.db import utcnow
from hounsfield.errors import Conflict, NotFound, Unprocessable
from hounsfield.patients.hooks import MERGE_HOOKS, MergeHook, RowId, register_merge_hook
from hounsfield.patients.models import PatientMerge, PatientRecord, Reconciliation, Visit
from hounsfield.patients.service import audit_change, drop_terms, get_record, refresh_terms
from hounsfield.studies.models import Patient as DicomPatient


class MergeSame(Unprocessable):
    """A patient cannot be merged into itself."""

    code = "merge_same_patient"


class MergeNotFound(NotFound):
    """No such merge."""

    code = "merge_not_found"


class MergeAlreadyUndone(Conflict):
    """This merge was already undone."""

    code = "merge_undone"


def _column_hook(name: str, model: Any, column: Any) -> MergeHook:
    """A hook for a table whose `column` holds the patient record id."""

    def move(session: Session, source_id: int, target_id: int) -> Sequence[RowId]:
        ids = list(session.scalars(select(model.id).where(column == source_id)))
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values({column: target_id}))
        return ids

    def restore(session: Session, source_id: int, ids: Sequence[RowId]) -> None:
        if ids:
            session.execute(update(model).where(model.id.in_(ids)).values({column: source_id}))

    return MergeHook(name=name, move=move, restore=restore)


register_merge_hook(_column_hook("dicom_patients", DicomPatient, DicomPatient.patient_record_id))
register_merge_hook(_column_hook("visits", Visit, Visit.patient_id))
register_merge_hook(_column_hook("reconciliations", Reconciliation, Reconciliation.patient_id))


def _lock_both(session: Session, first: int, second: int) -> tuple[PatientRecord, PatientRecord]:
    # Always lower id first: two merges of the same pair never deadlock.
    locked = {pk: get_record(session, pk, lock=True) for pk in sorted((first, second))}
    return locked[first], locked[second]


def merge(session: Session, actor: Actor | None, source_id: int, target_id: int) -> PatientMerge:
    """Move everything of `source` to `target` and hide `source`."""
    if source_id == target_id:
        raise MergeSame()
    source, target = _lock_both(session, source_id, target_id)
    moved = {
        name: list(hook.move(session, source.id, target.id)) for name, hook in MERGE_HOOKS.items()
    }
    source.deleted_at, source.merged_into_id = utcnow(), target.id
    source.version += 1
    drop_terms(session, source)
    target.version += 1
    record = PatientMerge(
        id=uuid.uuid4().hex,
        source_id=source.id,
        target_id=target.id,
        moved=json.dumps(moved, sort_keys=True),
    )
    session.add(record)
    session.flush()
    counts = {name: len(ids) for name, ids in moved.items()}
    for patient in (source, target):
        audit_change(
            session,
            "patient.merge",
            actor,
            patient,
            merge_id=record.id,
            source_id=source.id,
            target_id=target.id,
            moved=counts,
        )
    return record


def undo(session: Session, actor: Actor | None, merge_id: str) -> PatientMerge:
    """Move back exactly what the merge moved and restore the source record."""
    record = session.scalar(
        select(PatientMerge).where(PatientMerge.id == merge_id).with_for_update()
    )
    if record is None:
        raise MergeNotFound()
    if record.undone_at is not None:
        raise MergeAlreadyUndone()
    source = session.scalar(
        select(PatientRecord).where(PatientRecord.id == record.source_id).with_for_update()
    )
    assert source is not None  # a foreign key
    for name, ids in json.loads(record.moved).items():
        hook = MERGE_HOOKS.get(name)
        if hook is None:
            raise Conflict(f"the merge moved rows of {name}, which is not installed")
        hook.restore(session, source.id, ids)
    source.deleted_at, source.merged_into_id = None, None
    source.version += 1
    refresh_terms(session, source)
    record.undone_at = utcnow()
    audit_change(
        session,
        "patient.merge_undo",
        actor,
        source,
        merge_id=record.id,
        source_id=record.source_id,
        target_id=record.target_id,
    )
    return record
