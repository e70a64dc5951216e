"""Matching arriving studies to their orders, after the ingest commits.

The ingest hook (`on_indexed`, one outbox row per new study, committed with the study)
makes the match durable work: if the process dies first, the requeuer runs it later.
"""

from __future__ import annotations

from sqlalchemy.orm import Session

from hounsfield.db import after_commit, transaction
from hounsfield.ingest import hooks
from hounsfield.worker import celery


@celery.task(name="orders.match_study", acks_late=True)
def match_study(study_instance_uid: str) -> None:
    """Match one new study to its order (idempotent: a matched study is left alone)."""
    from hounsfield.orders import service

    with transaction(write=True) as session:
        service.match_arrival(session, study_instance_uid)


@hooks.on_indexed
def _queue_match(session: Session, event: hooks.Stored) -> None:
    if not event.new_study:
        return
    from hounsfield.worker import dispatch, record

    entry_id = record(session, match_study, study_instance_uid=event.study_instance_uid)
    after_commit(session, lambda: dispatch(entry_id))
