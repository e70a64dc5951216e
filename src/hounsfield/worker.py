"""Background work: Celery tasks sent through a database outbox.

`enqueue(session, task, **kwargs)` writes an outbox row in the caller's transaction and
dispatches it once that transaction commits. The row is the source of truth: it is deleted
only after the task has run, so work survives a crash, a broker (Redis) outage or a restart
(`requeue_pending` re-dispatches what is left). In embedded mode a small thread pool inside
the server runs the tasks (never inline in the request); in production Celery workers do,
on a Redis broker. Tasks must therefore be idempotent.
"""

from __future__ import annotations

import json
import logging
import threading
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any, cast

from celery import Celery, Task
from sqlalchemy import Integer, String, Text, Uuid, delete, or_, select, update
from sqlalchemy.engine import CursorResult
from sqlalchemy.orm import Mapped, Session, mapped_column

from hounsfield.config import get_settings
from hounsfield.db import Base, UTCDateTime, after_commit, transaction, utcnow
from hounsfield.periodic import PeriodicThread

logger = logging.getLogger(__name__)

MAX_ATTEMPTS = 5


def _redispatch_after() -> timedelta:
    """A dispatched task not done by then is sent again, and its claim taken as abandoned."""
    return timedelta(seconds=get_settings().worker.claim_timeout_s)


class OutboxEntry(Base):
    __tablename__ = "task_outbox"

    id: Mapped[uuid.UUID] = mapped_column(Uuid, primary_key=True, default=uuid.uuid4)
    task_name: Mapped[str] = mapped_column(String(128))
    kwargs: Mapped[str] = mapped_column(Text, default="{}")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    dispatched_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    claimed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)  # running since
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(String(255))


def _make_celery() -> Celery:
    settings = get_settings()
    app = Celery("hounsfield")
    app.conf.update(
        broker_url=settings.redis_url or "memory://",
        task_acks_late=True,
        task_reject_on_worker_lost=True,
        task_ignore_result=True,
        worker_prefetch_multiplier=1,
        broker_connection_retry_on_startup=True,
        broker_transport_options={"visibility_timeout": settings.worker.visibility_timeout_s},
        task_default_queue="default",
        # A standalone worker imports nothing else: name the modules that define tasks.
        imports=(
            "hounsfield.studies.tasks",
            "hounsfield.dimse.tasks",
            "hounsfield.ingest.tasks",
            "hounsfield.notifications.tasks",
            "hounsfield.orders.tasks",
            "hounsfield.schedule",
            "hounsfield.ai.tasks",
            "hounsfield.reports.dicom_export",
            "hounsfield.backup.tasks",
        ),
    )
    return app


celery = _make_celery()


def _embedded() -> bool:
    return not get_settings().redis_url


_pool_lock = threading.Lock()
_pool: ThreadPoolExecutor | None = None


def _local_pool() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=2, thread_name_prefix="hounsfield-task")
        return _pool


def shutdown_local_pool(wait: bool = True) -> None:
    """Finish (or abandon) embedded tasks; abandoned ones stay in the outbox for next time.

    Finishing first dispatches the entries still waiting in `dispatch_later`."""
    global _pool
    _flush_later(dispatch_now=wait)
    with _pool_lock:
        pool, _pool = _pool, None
    if pool is not None:
        pool.shutdown(wait=wait, cancel_futures=not wait)


def enqueue(session: Session, task: Task, **kwargs: Any) -> None:
    """Run `task(**kwargs)` in the background once this session's transaction commits."""
    entry_id = record(session, task, **kwargs)
    after_commit(session, lambda: dispatch(entry_id, queue=getattr(task, "queue", None)))


def record(session: Session, task: Task, **kwargs: Any) -> uuid.UUID:
    """Write the outbox row of `task(**kwargs)` without dispatching it: the caller calls
    `dispatch` after the commit, or the requeuer sends it within its interval."""
    entry = OutboxEntry(task_name=task.name, kwargs=json.dumps(kwargs, sort_keys=True))
    session.add(entry)
    session.flush()
    return entry.id


_later_lock = threading.Lock()
_later: dict[uuid.UUID, tuple[threading.Timer, str | None]] = {}


def dispatch_later(entry_id: uuid.UUID, delay_s: float, queue: str | None = None) -> None:
    """`dispatch` after `delay_s` seconds, from a timer thread: a debounce for work that
    later changes make redundant (see studies.service.Transfer). The outbox row is already
    committed, so a process that exits meanwhile loses nothing: the requeuer sends it."""

    def fire() -> None:
        with _later_lock:
            if _later.pop(entry_id, None) is None:
                return  # flushed meanwhile
        dispatch(entry_id, queue)

    timer = threading.Timer(delay_s, fire)
    timer.daemon = True
    with _later_lock:
        _later[entry_id] = (timer, queue)
    timer.start()


def _flush_later(*, dispatch_now: bool) -> None:
    with _later_lock:
        pending = list(_later.items())
        _later.clear()
    for entry_id, (timer, queue) in pending:
        timer.cancel()
        if dispatch_now:
            dispatch(entry_id, queue)


def dispatch(entry_id: uuid.UUID, queue: str | None = None) -> None:
    """Hand one outbox entry to the pool or the broker; on failure it waits for a requeue."""
    try:
        if _embedded():
            _local_pool().submit(run_entry, str(entry_id))
        else:
            run_outbox_entry.apply_async(args=[str(entry_id)], queue=queue or "default")
    except Exception as exc:  # broker down: the outbox keeps the work
        logger.warning("task dispatch failed (%s); kept in the outbox", type(exc).__name__)
        return
    with transaction() as session:
        session.execute(
            update(OutboxEntry).where(OutboxEntry.id == entry_id).values(dispatched_at=utcnow())
        )


def _claim(key: uuid.UUID) -> tuple[str, dict[str, Any]] | None:
    """Take an entry for this run: one conditional UPDATE, so of several processes (or a
    requeue racing the first dispatch) exactly one wins. None: done, or running elsewhere.
    A claim older than the claim timeout is taken as abandoned (its process died)."""
    now = utcnow()
    abandoned = now - _redispatch_after()
    with transaction(write=True) as session:
        result = session.execute(
            update(OutboxEntry)
            .where(OutboxEntry.id == key)
            .where(
                or_(
                    OutboxEntry.claimed_at.is_(None),
                    OutboxEntry.claimed_at < abandoned,
                )
            )
            .values(claimed_at=now)
        )
        if cast("CursorResult[Any]", result).rowcount != 1:
            return None
        entry = session.get(OutboxEntry, key)
        assert entry is not None  # claimed within this transaction
        return entry.task_name, json.loads(entry.kwargs)


def run_entry(entry_id: str) -> bool:
    """Run the task an outbox entry names, then delete the entry. False if it failed."""
    key = uuid.UUID(entry_id)
    claimed = _claim(key)
    if claimed is None:
        return True  # already done, or being done, by someone else
    name, kwargs = claimed
    task = celery.tasks.get(name)
    try:
        if task is None:
            raise LookupError(f"unknown task {name}")
        task.run(**kwargs)
    except Exception as exc:
        logger.exception("task %s failed", name)
        with transaction() as session:
            session.execute(
                update(OutboxEntry)
                .where(OutboxEntry.id == key)
                .values(
                    attempts=OutboxEntry.attempts + 1,
                    last_error=repr(exc)[:255],
                    claimed_at=None,
                )
            )
        return False
    with transaction() as session:
        session.execute(delete(OutboxEntry).where(OutboxEntry.id == key))
    return True


@celery.task(name="worker.run_outbox_entry", acks_late=True)
def run_outbox_entry(entry_id: str) -> None:
    run_entry(entry_id)


def requeue_pending(*, everything: bool = False) -> int:
    """Dispatch entries never dispatched, or dispatched long ago and still not done."""
    cutoff = utcnow() - _redispatch_after()
    with transaction() as session:
        stale = or_(OutboxEntry.dispatched_at.is_(None), OutboxEntry.dispatched_at < cutoff)
        query = select(OutboxEntry.id, OutboxEntry.task_name).where(
            OutboxEntry.attempts < MAX_ATTEMPTS
        )
        rows = session.execute(query if everything else query.where(stale)).all()
    for entry_id, name in rows:
        task = celery.tasks.get(name)
        dispatch(entry_id, queue=getattr(task, "queue", None))
    return len(rows)


def pending_count() -> int:
    with transaction() as session:
        return len(session.scalars(select(OutboxEntry.id)).all())


class Requeuer(PeriodicThread):
    """Re-dispatches left-over outbox entries: all of them at start-up, then stale ones
    every `interval_s`."""

    name = "outbox-requeue"

    def __init__(self, interval_s: float = 30.0) -> None:
        super().__init__(interval_s)
        self._first = True

    def start(self) -> None:
        self._first = True
        self.interval_s = get_settings().worker.requeue_interval_s
        super().start()

    def run_once(self) -> None:
        requeue_pending(everything=self._first)
        self._first = False


requeuer = Requeuer()
