"""Statements and CPU per ingested instance on the one ingest path, in one process.

    PYTHONPATH=src .venv/bin/python bench/ingest_statements.py [--series 4] [--per-series 16]

A fresh SQLite database in a temporary data directory; `ingest()` (as every edge calls it)
for small CT instances of several series, in order. Counts the SQL statements run per
instance (by kind), the instances/s over `--threads` concurrent transfers (the wall
clock: noisy on a loaded machine) and the process CPU per instance (time.process_time, so
a loaded machine's waiting does not count), without and with the series refreshes.
`--per-transfer 1` makes every instance a transfer of its own (STOW-RS of one).
"""

from __future__ import annotations

import argparse
import collections
import os
import sys
import tempfile
import threading
import time
from pathlib import Path


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--series", type=int, default=4)
    parser.add_argument("--per-series", type=int, default=16)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--size", type=int, default=16, help="rows and columns (512: a CT)")
    parser.add_argument(
        "--per-transfer", type=int, default=0, help="instances per transfer (1: STOW-RS of one)"
    )
    parser.add_argument(
        "--threads", type=int, default=1, help="concurrent transfers (like associations)"
    )
    args = parser.parse_args()
    data = Path(tempfile.mkdtemp(prefix="hf-ingest-bench-"))
    os.environ["HOUNSFIELD_DATA_DIR"] = str(data)
    os.environ["HOUNSFIELD_DATABASE_URL"] = f"sqlite:///{data}/bench.db"
    os.environ["HOUNSFIELD_DICOM__ENABLED"] = "false"
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
    from pydicom.uid import generate_uid
    from sqlalchemy import event
    from tests.dicom_factory import make_dataset, to_bytes

    from hounsfield.db import get_engine
    from hounsfield.ingest.service import ingest
    from hounsfield.migrate import upgrade
    from hounsfield.studies.service import transfer
    from hounsfield.worker import shutdown_local_pool

    upgrade()
    kinds: collections.Counter[str] = collections.Counter()

    @event.listens_for(get_engine(), "before_cursor_execute")
    def count(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        kinds[statement.split(None, 1)[0].upper()] += 1

    def one_transfer(share: list[bytes]) -> None:
        step = args.per_transfer or len(share)
        for first in range(0, len(share), step):
            with transfer():  # as every edge does: refreshes held to the end, one audit event
                for blob in share[first : first + step]:
                    assert ingest(blob, origin="bench").status == "stored"

    figures, rates, derived = [], [], []
    for _round in range(args.rounds):
        blobs = []
        for s in range(args.series):
            study, series = generate_uid(), generate_uid()
            for i in range(args.per_series):
                ds = make_dataset(
                    StudyInstanceUID=study,
                    SeriesInstanceUID=series,
                    InstanceNumber=i + 1,
                    PatientID=f"BENCH{s % 2}",
                    PatientName="张^三" if s % 2 else "Doe^Jane",
                    Rows=args.size,
                    Columns=args.size,
                    seed=i,
                )
                blobs.append(to_bytes(ds))
        kinds.clear()
        shares = [blobs[t :: args.threads] for t in range(args.threads)]
        start, wall = time.process_time(), time.perf_counter()
        threads = [threading.Thread(target=one_transfer, args=(share,)) for share in shares]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        cpu, wall = time.process_time() - start, time.perf_counter() - wall
        n = len(blobs)
        rates.append(n / wall)
        shutdown_local_pool(wait=True)  # derived work, queued when each transfer ended
        with_derived = time.process_time() - start
        derived.append(with_derived * 1000 / n)
        figures.append((cpu * 1000 / n, {k: v / n for k, v in kinds.items()}))
    cpu_ms = sorted(f[0] for f in figures)[len(figures) // 2]
    derived_ms = sorted(derived)[len(derived) // 2]
    statements = figures[-1][1]
    print(f"instances per round: {args.series * args.per_series}, rounds: {args.rounds}")
    print(
        f"CPU per instance (median of rounds): {cpu_ms:.2f} ms "
        f"(all: {', '.join(f'{f[0]:.2f}' for f in figures)})"
    )
    print(f"CPU per instance with the derived work (series refreshes): {derived_ms:.2f} ms")
    rate = sorted(rates)[len(rates) // 2]
    print(f"instances/s over {args.threads} thread(s) (median): {rate:.1f}")
    print(
        f"statements per instance: {sum(statements.values()):.2f} "
        + " ".join(f"{k}={v:.2f}" for k, v in sorted(statements.items()))
    )


if __name__ == "__main__":
    main()
