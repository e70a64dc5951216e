"""atheris fuzz target: arbitrary bytes through the one ingest function (SECURITY I1).

    python -m tests.fuzz.ingest_target [libFuzzer options] [corpus dirs]

Runs on its own SQLite database and data directory (a temp dir unless
HOUNSFIELD_DATA_DIR is set), migrated at start. The parser (pydicom and
hounsfield.dicom) is instrumented for coverage; the corpus starts from valid files.
`ingest` turns every failure into an Outcome, so a finding is either an exception that
escapes it, or an Outcome "error" (an unexpected exception it caught and logged), or
libFuzzer's own verdicts (a timeout, memory over -rss_limit_mb). Crashing inputs found
are kept in tests/fuzz/crashes/ and replayed by tests/fuzz/test_ingest_fuzz.py.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile

import atheris

with atheris.instrument_imports(include=["pydicom", "hounsfield.dicom", "hounsfield.ingest"]):
    from hounsfield.ingest.service import ingest


class UnexpectedFailure(Exception):
    """The ingest caught an exception it did not expect: a bug to keep."""


def check(data: bytes) -> None:
    outcome = ingest(data, origin="fuzz")
    if outcome.status == "error":
        raise UnexpectedFailure(outcome.reason)


def _isolate() -> None:
    if "HOUNSFIELD_DATA_DIR" not in os.environ:
        os.environ["HOUNSFIELD_DATA_DIR"] = tempfile.mkdtemp(prefix="hf-fuzz-")
    data_dir = os.environ["HOUNSFIELD_DATA_DIR"]
    os.environ.setdefault("HOUNSFIELD_DATABASE_URL", f"sqlite:///{data_dir}/fuzz.db")
    logging.disable(logging.CRITICAL)  # refusals are expected; libFuzzer reports findings
    from hounsfield.migrate import upgrade

    upgrade()


def main() -> None:
    _isolate()
    atheris.Setup(sys.argv, check)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
