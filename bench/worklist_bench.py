"""Latency of the reading worklist query (one page + total + counts per status) at scale.

    PYTHONPATH=src .venv/bin/python bench/worklist_bench.py [--studies 100000] [--url URL]

Bulk-inserts N studies (one series each) for N/4 patients, readings for half of them in
every status, and an order matched to every third; then times `worklist.service
.list_worklist` (what GET /api/worklist runs) for typical views, reporting p50 / p95 of
--rounds runs in ms, and the p95 of the time spent in SQL statements. Default database:
a fresh SQLite file in a temporary directory; `--url` names a MariaDB/PostgreSQL
database to (re)create instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

VIEWS: dict[str, dict[str, Any]] = {
    "default (priority sort)": {},
    "unread": {"status": "unread"},
    "in reading": {"status": "in_reading"},
    "final, newest": {"status": "final", "sort": "-received_at"},
    "STAT": {"priority": "stat"},
    "unread CT, newest": {"status": "unread", "modality": "CT", "sort": "-received_at"},
    "unread, page 20": {"status": "unread", "offset": 950},
    "last 7 days": {"days": 7},
    "today": {"days": 1},
    "accession prefix": {"accession": "AC0001"},
    "name search": {"q": "zhang"},
}


def _load(n: int) -> None:
    import sqlalchemy as sa

    from hounsfield.db import get_engine
    from hounsfield.orders.models import Order
    from hounsfield.patients.models import PatientRecord
    from hounsfield.studies.models import Patient, Series, Study
    from hounsfield.worklist.models import Reading

    start = START
    with get_engine().begin() as conn:
        patients = max(1, n // 4)
        conn.execute(sa.insert(Patient), [
            {"id": i + 1, "patient_id": f"P{i:07d}", "patient_name": f"Zhang^Wei{i}",
             "name_search": f" zhang wei{i}", "created_at": start, "updated_at": start}
            for i in range(patients)
        ])  # fmt: skip
        conn.execute(sa.insert(PatientRecord), [
            {"id": i + 1, "mrn": f"P{i:07d}", "issuer": "", "created_at": start,
             "updated_at": start, "version": 1}
            for i in range(patients)
        ])  # fmt: skip
        for first in range(0, n, 20000):
            rows = range(first, min(n, first + 20000))
            conn.execute(sa.insert(Study), [_study(i, start, patients) for i in rows])
            conn.execute(sa.insert(Series), [
                {"id": i + 1, "study_pk": i + 1, "series_instance_uid": f"1.2.4.{i}",
                 "modality": "CT" if i % 2 else "MR", "body_part_examined": "CHEST",
                 "received_at": start, "updated_at": start}
                for i in rows
            ])  # fmt: skip
            conn.execute(sa.insert(Reading), [
                {"study_pk": i + 1, "status": _status(i), "updated_at": start,
                 "claim_expires_at": _claim(i, start)}
                for i in rows if _status(i) is not None
            ])  # fmt: skip
            conn.execute(sa.insert(Order), [
                {"patient_id": i % patients + 1, "accession_number": f"AC{i:08d}",
                 "procedure": "CT", "modality": "CT", "body_part": "", "priority": _priority(i),
                 "clinical_question": "", "ordering_doctor": "", "ordering_department": "",
                 "patient_source": "outpatient", "scheduled_at": start, "station_ae": "",
                 "status": "arrived", "study_instance_uid": f"1.2.3.{i}", "created_at": start,
                 "updated_at": start}
                for i in rows if _priority(i) is not None
            ])  # fmt: skip


START = datetime(2026, 3, 1, tzinfo=UTC)

# Half the studies have a reading, a quarter of those in each status (a few in reading
# under a live claim); every third study answers an order, of each priority in turn.
STATUSES = ["unread", "in_reading", "preliminary", "final"]
PRIORITIES = ["routine", "urgent", "stat"]


def _status(i: int) -> str | None:
    return STATUSES[(i // 2) % 4] if i % 2 == 0 else None


def _claim(i: int, start: datetime) -> datetime | None:
    # One in reading in ten still claimed; the others' claims ran out.
    if _status(i) != "in_reading":
        return None
    return start + timedelta(days=3650 if i % 10 == 2 else -1)


def _priority(i: int) -> str | None:
    return PRIORITIES[(i // 3) % 3] if i % 3 == 0 else None


def _study(i: int, start: datetime, patients: int) -> dict[str, Any]:
    """A study row as ingest, the worklist and order matching leave it."""
    from hounsfield.orders.models import PRIORITY_RANK, Priority

    received = start + timedelta(minutes=3 * i)
    status, priority = _status(i), _priority(i)
    return {
        "id": i + 1, "patient_pk": i % patients + 1, "study_instance_uid": f"1.2.3.{i}",
        "accession_number": f"AC{i:08d}", "study_date": received.date(),
        "modalities_in_study": "CT" if i % 2 else "MR", "patient_name": f"Zhang^Wei{i}",
        "number_of_series": 1, "number_of_instances": 10, "received_at": received,
        "updated_at": received,
        "read_stage": status if status in ("preliminary", "final") else "open",
        "read_claim_until": _claim(i, start),
        "priority_rank": PRIORITY_RANK[Priority(priority or "routine")],
    }  # fmt: skip


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--studies", type=int, default=100_000)
    parser.add_argument("--rounds", type=int, default=20)
    parser.add_argument("--url", default=None)
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hf-worklist-bench-"))
    os.environ["HOUNSFIELD_DATA_DIR"] = str(data)
    os.environ["HOUNSFIELD_DATABASE_URL"] = args.url or f"sqlite:///{data}/bench.db"
    os.environ["HOUNSFIELD_DICOM__ENABLED"] = "false"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    if args.url:
        from tests.conftest import _recreate_database

        _recreate_database(args.url)
    from hounsfield.db import transaction
    from hounsfield.migrate import upgrade
    from hounsfield.orders.models import Priority
    from hounsfield.worklist import service
    from hounsfield.worklist.models import ReadStatus

    upgrade()
    sql_ms = _time_statements()
    loaded = time.perf_counter()
    _load(args.studies)
    backend = (args.url or "sqlite").split(":")[0]
    sys.stdout.write(f"{backend}: {args.studies} studies loaded in "
                     f"{time.perf_counter() - loaded:.1f} s\n")  # fmt: skip
    for name, view in VIEWS.items():
        sort = view.pop("sort", "priority")
        offset = view.pop("offset", 0)
        if "days" in view:  # up to the newest study's date
            last = (START + timedelta(minutes=3 * (args.studies - 1))).date()
            view["date_from"] = last - timedelta(days=view.pop("days") - 1)
            view["date_to"] = last
        if "status" in view:
            view["status"] = ReadStatus(view["status"])
        if "priority" in view:
            view["priority"] = Priority(view["priority"])
        filters = service.WorklistFilters(**view)
        times, in_sql = [], []
        for _ in range(args.rounds):
            sql_ms.clear()
            began = time.perf_counter()
            with transaction() as session:
                _rows, total, _counts = service.list_worklist(
                    session, None, filters, sort=sort, offset=offset
                )
            times.append((time.perf_counter() - began) * 1000)
            in_sql.append(sum(sql_ms))
        p95 = statistics.quantiles(times, n=20)[-1]
        sql_p95 = statistics.quantiles(in_sql, n=20)[-1]
        sys.stdout.write(f"  {name:22s} total {total:6d}  p50 {statistics.median(times):6.1f} ms"
                         f"  p95 {p95:6.1f} ms  (SQL p95 {sql_p95:6.1f} ms)\n")  # fmt: skip


def _time_statements() -> list[float]:
    """Milliseconds each statement took, to tell the database's share from the rest
    (ORM loading, the audit journal's fsync)."""
    from sqlalchemy import event

    from hounsfield.db import get_engine

    took: list[float] = []
    started: list[float] = []
    engine = get_engine()

    @event.listens_for(engine, "before_cursor_execute")
    def _before(*_args: Any) -> None:
        started.append(time.perf_counter())

    @event.listens_for(engine, "after_cursor_execute")
    def _after(*_args: Any) -> None:
        took.append((time.perf_counter() - started.pop()) * 1000)

    return took


if __name__ == "__main__":
    main()
