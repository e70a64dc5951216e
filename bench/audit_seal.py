"""The audit sealer's cost during ingest: CPU and sealing transactions per stored instance.

Simulates C-STORE's shape (one write transaction per instance, each recording one audit
event) on a fresh SQLite database, once with the sealer thread running and once without
(sealing everything at the end instead), and reports the difference.

    PYTHONPATH=src .venv/bin/python bench/audit_seal.py --events 2000 --runs 3
"""

from __future__ import annotations

import argparse
import os
import statistics
import tempfile
import time
from pathlib import Path


def _setup(directory: Path) -> None:
    os.environ["HOUNSFIELD_DATA_DIR"] = str(directory)
    os.environ["HOUNSFIELD_DATABASE_URL"] = f"sqlite:///{directory}/bench.db"
    from hounsfield.config import get_settings
    from hounsfield.db import reset_engine
    from hounsfield.migrate import upgrade

    get_settings.cache_clear()
    reset_engine()
    upgrade()


def _ingest_like(events: int, with_sealer: bool, per_transfer: int) -> tuple[float, int, int]:
    """CPU seconds of the process, sealing transactions and audit rows for `events`
    commits, in transfers (associations) of `per_transfer` instances."""
    from contextlib import nullcontext

    from sqlalchemy import event, func, select

    from hounsfield.audit import service
    from hounsfield.audit.models import AuditEvent
    from hounsfield.audit.service import Anonymous
    from hounsfield.db import get_engine, transaction

    seals = 0

    def count(conn: object, cursor: object, statement: str, *args: object) -> None:
        nonlocal seals
        if statement.lstrip().upper().startswith("UPDATE AUDIT_CHAIN_HEAD"):
            seals += 1

    event.listen(get_engine(), "before_cursor_execute", count)
    actor = Anonymous("ae:BENCH")
    start = time.process_time()
    if with_sealer:
        service.sealer.start()
    batch = getattr(service, "batch", None)  # absent before one event per transfer
    for first in range(0, events, per_transfer):
        with batch() if batch and per_transfer > 1 else nullcontext():
            for i in range(first, min(first + per_transfer, events)):
                with transaction(write=True) as session:
                    service.record(
                        session, "image.store", actor, resource_type="study",
                        resource_id="1.2.3", patient_id="P1",
                        detail={"sop_instance_uid": f"1.2.3.{i}", "origin": "dimse"},
                    )  # fmt: skip
    if with_sealer:
        service.sealer.stop()
    service.flush_buffer()  # what is journalled (or, before, buffered), then seal the rest
    service.seal_all()
    cpu = time.process_time() - start
    event.remove(get_engine(), "before_cursor_execute", count)
    with transaction() as session:
        rows = session.scalar(select(func.count()).select_from(AuditEvent)) or 0
    return cpu, seals, rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=2000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--per-transfer", type=int, default=1, help="instances per association")
    args = parser.parse_args()
    with_s, without, seal_counts, rows = [], [], [], 0
    for _ in range(args.runs):
        for sealed in (True, False):
            with tempfile.TemporaryDirectory() as tmp:
                _setup(Path(tmp))
                cpu, seals, rows = _ingest_like(args.events, sealed, args.per_transfer)
            (with_s if sealed else without).append(cpu)
            if sealed:
                seal_counts.append(seals)
    a, b = statistics.median(with_s), statistics.median(without)
    print(f"events: {args.events}, runs: {args.runs} (medians), load: {os.getloadavg()[0]:.2f}")
    print(f"CPU with the sealer running:      {a * 1000 / args.events:.3f} ms/event")
    print(f"CPU without (one seal at the end): {b * 1000 / args.events:.3f} ms/event")
    print(f"sealer's share of ingest CPU:      {(a - b) / a * 100:.1f} %")
    print(f"sealing transactions:              {statistics.median(seal_counts):.0f}")
    print(f"audit rows ({args.per_transfer} per transfer):      {rows}")


if __name__ == "__main__":
    main()
