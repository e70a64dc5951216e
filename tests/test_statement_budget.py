"""SECURITY L1: a performance regression is flagged automatically, without timing anything.

The SQL statements one call runs are deterministic (same code, same data, same count), and
most of our past slow-downs were more statements (an N+1 query, a lost fast path). So each
call below (STOW-RS ingest, QIDO-RS at three levels, WADO-RS instance, metadata, frame and
rendered) is made once on a fresh SQLite database and its statements are counted: the
request's and the background work it queued (series refresh, thumbnail), never the
periodic threads'. `bench/statement_baseline.json` holds the committed counts; a count
above its baseline fails, and so does one below it (the baseline must follow the
improvement, or a later regression back to the old count would go unseen).

After a deliberate change: `make bench-baseline` rewrites the file; commit it with the
change that explains it. `make bench-check` runs this test alone.
"""

from __future__ import annotations

import json
import os
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import event

from hounsfield.db import get_engine
from hounsfield.periodic import PeriodicThread
from hounsfield.worker import shutdown_local_pool
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body

pytestmark = pytest.mark.once  # SQLite's counts; the other databases differ a little

BASELINE = Path(__file__).resolve().parent.parent / "bench" / "statement_baseline.json"
UPDATE = os.environ.get("HOUNSFIELD_UPDATE_BASELINE") == "1"


def _periodic_names() -> set[str]:
    found, todo = set(), list(PeriodicThread.__subclasses__())
    while todo:
        cls = todo.pop()
        found.add(cls.name)
        todo.extend(cls.__subclasses__())
    return found


@contextmanager
def counting() -> Iterator[Counter[str]]:
    """Statements by kind, run by the request and the tasks it queued, until they ended."""
    skip = _periodic_names()
    kinds: Counter[str] = Counter()
    lock = threading.Lock()

    def count(_conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if threading.current_thread().name in skip:
            return
        with lock:
            kinds[statement.split(None, 1)[0].upper()] += 1

    shutdown_local_pool(wait=True)  # nothing earlier still running
    event.listen(get_engine(), "before_cursor_execute", count)
    try:
        yield kinds
        shutdown_local_pool(wait=True)  # the work this call queued is part of its cost
    finally:
        event.remove(get_engine(), "before_cursor_execute", count)


def _series(study: str, series: str, count: int, first: int = 1) -> list[bytes]:
    return [
        to_bytes(make_dataset(StudyInstanceUID=study, SeriesInstanceUID=series,
                              InstanceNumber=first + i, PatientID="BUDGET1", seed=i))
        for i in range(count)
    ]  # fmt: skip


def measure(client: TestClient, headers: dict[str, str]) -> dict[str, int]:
    study, series = str(generate_uid()), str(generate_uid())
    counts: dict[str, int] = {}

    def call(name: str, do: Callable[[], Any], expected: int = 200) -> None:
        with counting() as kinds:
            response = do()
        assert response.status_code == expected, (name, response.text)
        counts[name] = sum(kinds.values())

    def stow(items: list[bytes]) -> Any:
        body, content_type = multipart_body(items)
        return client.post("/dicom-web/studies", content=body,
                           headers={**headers, "Content-Type": content_type})  # fmt: skip

    client.get("/api/auth/me", headers=headers)  # the user is loaded once, before counting
    call(
        "stow: the first instance of a new patient and study",
        lambda: stow(_series(study, series, 1)),
    )
    call("stow: one more instance of a known series", lambda: stow(_series(study, series, 1, 2)))
    call("stow: 16 instances of a known series in one request",
         lambda: stow(_series(study, series, 16, 3)))  # fmt: skip
    sop = client.get(f"/dicom-web/studies/{study}/series/{series}/instances",
                     params={"InstanceNumber": "5"}, headers=headers).json()  # fmt: skip
    sop_uid = sop[0]["00080018"]["Value"][0]
    of_series = f"/dicom-web/studies/{study}/series/{series}"
    base = f"{of_series}/instances/{sop_uid}"
    reads = {
        "qido: studies by PatientID": ("/dicom-web/studies", {"PatientID": "BUDGET1"}),
        "qido: series of a study": (f"/dicom-web/studies/{study}/series", {}),
        "qido: instances of a series (18)": (f"{of_series}/instances", {}),
        "wado: one instance": (base, {}),
        "wado: series metadata (18 instances)": (f"{of_series}/metadata", {}),
        "wado: one frame": (f"{base}/frames/1", {}),
        "wado: rendered instance": (f"{base}/rendered", {}),
    }  # fmt: skip
    accept = {"wado: one instance": 'multipart/related; type="application/dicom"',
              "wado: one frame": 'multipart/related; type="application/octet-stream"',
              "wado: rendered instance": "image/jpeg"}  # fmt: skip
    for name, (url, params) in reads.items():
        wanted = {**headers, "Accept": accept.get(name, "application/dicom+json")}
        call(
            name,
            lambda url=url, params=params, wanted=wanted: client.get(
                url, params=params, headers=wanted
            ),
        )
    return counts


def test_no_call_runs_more_statements_than_its_baseline(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    counts = measure(client, auth_headers("technician"))
    if UPDATE:
        BASELINE.write_text(json.dumps(counts, indent=2, ensure_ascii=False) + "\n")
    baseline = json.loads(BASELINE.read_text())
    assert sorted(counts) == sorted(baseline), "calls measured and baseline differ"
    grown = {k: f"{baseline[k]} → {v}" for k, v in counts.items() if v > baseline[k]}
    assert not grown, f"more SQL statements than the baseline (a regression?): {grown}"
    shrunk = {k: f"{baseline[k]} → {v}" for k, v in counts.items() if v < baseline[k]}
    assert not shrunk, f"fewer statements: lower the baseline (make bench-baseline): {shrunk}"
