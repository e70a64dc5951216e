"""Latency of the reading worklist query (one page + total + counts per status) at scale.

    PYTHONPATH=src .venv/bin/python bench/worklist_bench.py [--studies 100000] [--url URL]

Bulk-inserts N studies (one series each) for N/4 patients, readings for half of them in
every status, and an order matched to every third; then times `worklist.service
.list_worklist` (what GET /api/worklist runs) for typical views, reporting p50 / p95 of
--rounds runs in ms. Default database: a fresh SQLite file in a temporary directory;
`--url` names a MariaDB/PostgreSQL database to (re)create instead.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

VIEWS: dict[str, dict[str, Any]] = {
    "default (priority sort)": {},
    "unread": {"status": "unread"},
    "unread CT, newest": {"status": "unread", "modality": "CT", "sort": "-received_at"},
    "date range": {"date_from": date(2026, 3, 1), "date_to": date(2026, 3, 7)},
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

    start = datetime(2026, 3, 1, tzinfo=UTC)
    statuses = ["unread", "in_reading", "preliminary", "final"]
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
            received = [start + timedelta(minutes=3 * i) for i in rows]
            conn.execute(sa.insert(Study), [
                {"id": i + 1, "patient_pk": i % patients + 1, "study_instance_uid": f"1.2.3.{i}",
                 "accession_number": f"AC{i:08d}", "study_date": received[i - first].date(),
                 "modalities_in_study": "CT" if i % 2 else "MR", "patient_name": f"Zhang^Wei{i}",
                 "number_of_series": 1, "number_of_instances": 10,
                 "received_at": received[i - first], "updated_at": received[i - first]}
                for i in rows
            ])  # fmt: skip
            conn.execute(sa.insert(Series), [
                {"id": i + 1, "study_pk": i + 1, "series_instance_uid": f"1.2.4.{i}",
                 "modality": "CT" if i % 2 else "MR", "body_part_examined": "CHEST",
                 "received_at": start, "updated_at": start}
                for i in rows
            ])  # fmt: skip
            conn.execute(sa.insert(Reading), [
                {"study_pk": i + 1, "status": statuses[i % 4], "updated_at": start,
                 "claim_expires_at": start + timedelta(days=3650) if i % 4 == 1 else None}
                for i in rows if i % 2 == 0
            ])  # fmt: skip
            conn.execute(sa.insert(Order), [
                {"patient_id": i % patients + 1, "accession_number": f"AC{i:08d}",
                 "procedure": "CT", "modality": "CT", "body_part": "", "priority":
                 ["routine", "urgent", "stat"][i % 3], "clinical_question": "",
                 "ordering_doctor": "", "ordering_department": "", "patient_source":
                 "outpatient", "scheduled_at": start, "station_ae": "", "status": "arrived",
                 "study_instance_uid": f"1.2.3.{i}", "created_at": start, "updated_at": start}
                for i in rows if i % 3 == 0
            ])  # fmt: skip


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
    from hounsfield.worklist import service
    from hounsfield.worklist.models import ReadStatus

    upgrade()
    loaded = time.perf_counter()
    _load(args.studies)
    backend = (args.url or "sqlite").split(":")[0]
    sys.stdout.write(f"{backend}: {args.studies} studies loaded in "
                     f"{time.perf_counter() - loaded:.1f} s\n")  # fmt: skip
    for name, view in VIEWS.items():
        sort = view.pop("sort", "priority")
        if "status" in view:
            view["status"] = ReadStatus(view["status"])
        filters = service.WorklistFilters(**view)
        times = []
        for _ in range(args.rounds):
            began = time.perf_counter()
            with transaction() as session:
                _rows, total, _counts = service.list_worklist(session, None, filters, sort=sort)
            times.append((time.perf_counter() - began) * 1000)
        p95 = statistics.quantiles(times, n=20)[-1]
        sys.stdout.write(f"  {name:26s} total {total:7d}  p50 {statistics.median(times):7.1f} ms"
                         f"  p95 {p95:7.1f} ms\n")  # fmt: skip


if __name__ == "__main__":
    main()
