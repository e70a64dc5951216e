"""Periodic maintenance: due times, the outbox in embedded mode, the beat schedule."""

from __future__ import annotations

from sqlalchemy import select

import hounsfield.app  # noqa: F401  - the whole import graph first, as in a real server
from hounsfield.db import transaction
from hounsfield.schedule import PERIODIC, due, enqueue_due
from hounsfield.worker import OutboxEntry, celery, shutdown_local_pool


def test_everything_is_due_at_first_then_by_interval() -> None:
    last: dict[str, float] = {}
    assert due(last, 1000.0) == list(PERIODIC)
    last = dict.fromkeys(PERIODIC, 1000.0)
    assert due(last, 1000.0 + 59) == []
    assert due(last, 1000.0 + 60) == ["reports.escalate_critical"]  # 危急值: every minute
    assert due(last, 1000.0 + 900) == ["reports.escalate_critical", "backup.scheduled"]
    assert sorted(due(last, 1000.0 + 3600)) == [
        "backup.scheduled", "ingest.purge_stale_uploads", "reports.escalate_critical"
    ]  # fmt: skip
    assert "studies.scrub_objects" not in due(last, 1000.0 + 6 * 3600)
    assert sorted(due(last, 1000.0 + 24 * 3600)) == sorted(PERIODIC)


def test_due_tasks_go_through_the_outbox() -> None:
    last: dict[str, float] = {}
    queued = enqueue_due(last, 50.0)
    assert sorted(queued) == sorted(PERIODIC)
    assert enqueue_due(last, 51.0) == []
    with transaction() as session:
        names = set(session.scalars(select(OutboxEntry.task_name)))
    # Rows may already be gone if the in-process pool ran them; none may be foreign.
    assert names <= set(PERIODIC)
    shutdown_local_pool(wait=True)  # the tasks ran (or failed) and are done
    with transaction() as session:
        failed = session.scalars(select(OutboxEntry).where(OutboxEntry.attempts > 0)).all()
    assert [(e.task_name, e.last_error) for e in failed] == []


def test_beat_schedule_names_registered_tasks() -> None:
    schedule = celery.conf.beat_schedule
    assert set(schedule) == set(PERIODIC)
    for entry in schedule.values():
        assert entry["task"] in celery.tasks
    assert "hounsfield.ingest.tasks" in celery.conf.imports
