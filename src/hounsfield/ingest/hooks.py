"""The one place where other domains react to instances the ingest path stored.

Every edge (C-STORE, STOW-RS, upload, zip, tus) ends in `ingest.service._store`; after it
has indexed an instance (status "stored": a new instance, a revived one or an overwrite,
never a duplicate or a refusal) it calls `emit` once with a :class:`Stored` event, which
runs the registered hooks. Register one at import time of your domain's module::

    from hounsfield.ingest import hooks

    @hooks.on_stored
    def _match_orders(event: hooks.Stored) -> None:
        if event.new_study:
            ...  # e.g. queue a task: worker.record + dispatch, in a transaction of its own

Two kinds, pick the one that fits:

- ``on_stored(fn)``: ``fn(event)`` runs **after** the index transaction committed (the rows
  are durable and visible to other connections), in the ingesting thread, once per commit
  of the instance. The session is gone: open your own ``transaction()`` if you need one.
  Keep it quick (the sender waits for the next response), and queue slow work.
- ``on_indexed(fn)``: ``fn(session, event)`` runs **inside** the index transaction, before
  commit, for rows that must commit (or roll back) together with the instance. Cheap
  Core statements only: on SQLite this transaction holds the database's write lock. An
  exception here fails the instance (it is refused as a processing failure, nothing is
  acknowledged).

A post-commit hook that raises is logged (without patient data) and the next hook still
runs: the instance is already durable and its acknowledgement must not be turned into a
failure. Hooks run in registration order; registering the same function twice is a no-op.
Tests can use `registered` to add a hook for the duration of a block.
"""

from __future__ import annotations

import contextlib
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from sqlalchemy.orm import Session

from hounsfield.db import after_commit

__all__ = ["Stored", "emit", "on_indexed", "on_stored", "registered"]

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Stored:
    """An instance the index now holds. The `new_*` flags say whether this instance
    created the row (or revived a deleted one): a hook that acts once per patient, study or
    series tests them instead of querying."""

    origin: str  # "dimse:<calling AE>", "stow", "upload", ...
    sop_class_uid: str
    sop_instance_uid: str
    series_instance_uid: str
    study_instance_uid: str
    patient_id: str
    issuer_of_patient_id: str
    modality: str
    patient_pk: int
    study_pk: int
    series_pk: int
    new_patient: bool
    new_study: bool
    new_series: bool
    overwrite: bool  # policy "overwrite" replaced an instance with other content
    actor_id: uuid.UUID | None = None  # the signed-in user who sent it (None: a modality, a task)


StoredHook = Callable[[Stored], None]
IndexedHook = Callable[[Session, Stored], None]

_after: list[StoredHook] = []
_within: list[IndexedHook] = []


def on_stored(hook: StoredHook) -> StoredHook:
    """Register `hook(event)` to run after each stored instance's commit (a decorator)."""
    if hook not in _after:
        _after.append(hook)
    return hook


def on_indexed(hook: IndexedHook) -> IndexedHook:
    """Register `hook(session, event)` to run in the index transaction (a decorator)."""
    if hook not in _within:
        _within.append(hook)
    return hook


@contextlib.contextmanager
def registered(
    *, stored: StoredHook | None = None, indexed: IndexedHook | None = None
) -> Iterator[None]:
    """Hooks registered for the duration of the block only (tests)."""
    if stored is not None:
        on_stored(stored)
    if indexed is not None:
        on_indexed(indexed)
    try:
        yield
    finally:
        if stored is not None and stored in _after:
            _after.remove(stored)
        if indexed is not None and indexed in _within:
            _within.remove(indexed)


def emit(session: Session, event: Stored) -> None:
    """Called by the ingest path once per stored instance, inside its index transaction."""
    for hook in list(_within):
        hook(session, event)
    if _after:
        hooks = list(_after)
        after_commit(session, lambda: _run_after(hooks, event))


def _run_after(hooks: list[StoredHook], event: Stored) -> None:
    for hook in hooks:
        try:
            hook(event)
        except Exception:
            logger.exception("ingest hook %s failed (the instance is stored)", _name(hook))


def _name(hook: Callable[..., object]) -> str:
    return f"{getattr(hook, '__module__', '?')}.{getattr(hook, '__qualname__', repr(hook))}"
