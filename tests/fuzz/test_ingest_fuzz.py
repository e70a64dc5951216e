"""SECURITY I1: the atheris fuzz target on `ingest`, briefly in CI; kept inputs replayed.

tests/fuzz/corpus/ holds the inputs an 8-minute run (38,908 executions) kept for reaching
new coverage, from the seeds of make_seeds.py; tests/fuzz/regressions/ holds inputs that
ever made the ingest fail (none so far). Both are replayed through `ingest` on every test
run; the CI run makes 12,000 executions from the seeds with a fixed seed. A longer run:
`make fuzz FUZZ_SECONDS=3600`
(corpus and findings in var/fuzz/; copy crashes into tests/fuzz/regressions/).
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from hounsfield.ingest.service import ingest
from tests.fuzz.make_seeds import main as write_seeds

REPO = Path(__file__).resolve().parents[2]
CORPUS = Path(__file__).parent / "corpus"
REGRESSIONS = Path(__file__).parent / "regressions"
RUNS = int(os.environ.get("HOUNSFIELD_FUZZ_RUNS", "12000"))
# A count, not a duration: a time limit made a loaded CI machine stop short of RUNS (10,310
# in 60 s). The subprocess timeout only guards against a hang.
HANG_S = 1200


@pytest.mark.slow
@pytest.mark.once  # the target has a database of its own
def test_a_short_fuzzing_run_finds_nothing(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_seeds(corpus)  # the seeds only: loading the kept corpus costs more than it finds
    env = {k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")}
    env["HOUNSFIELD_DATA_DIR"] = str(tmp_path / "data")
    # A fixed seed and count: the same inputs on every CI run, so a finding reproduces
    # (`make fuzz` explores with fresh seeds for as long as it is given).
    fuzz = [sys.executable, "-m", "tests.fuzz.ingest_target", "-seed=1", f"-runs={RUNS}",
            "-rss_limit_mb=2048", "-timeout=20",
            f"-artifact_prefix={tmp_path}/", str(corpus)]  # fmt: skip
    # Run in a process sh forks, not one exec'd from this one: on Linux an exec'd child
    # starts with its parent's peak RSS as its own (ru_maxrss survives exec), and
    # libFuzzer's -rss_limit_mb reads ru_maxrss, so a large late-suite pytest process
    # made the run "out of memory" before it began.
    run = subprocess.run(
        ["sh", "-c", '"$@"; exit $?', "sh", *fuzz],
        cwd=REPO, env=env, capture_output=True, text=True, timeout=HANG_S,
    )  # fmt: skip
    found = sorted(p.name for p in tmp_path.glob("crash-*")) + sorted(
        p.name for p in tmp_path.glob("timeout-*")
    )
    assert run.returncode == 0, (found, run.stderr[-3000:])
    assert f"Done {RUNS} runs" in run.stderr  # it made every run
    assert "cov: " in run.stderr  # with coverage feedback (the parser is instrumented)


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore::UserWarning")  # pydicom warns about the broken values
def test_kept_inputs_are_refused_or_stored() -> None:
    kept = [p for p in [*CORPUS.iterdir(), *REGRESSIONS.iterdir()] if p.name != "README.md"]
    assert len(kept) > 100
    failed = [p.name for p in kept if ingest(p.read_bytes(), origin="fuzz").status == "error"]
    assert failed == []


def test_the_seeds_are_stored(tmp_path: Path) -> None:
    """The corpus starts from files the ingest accepts, so the fuzzer mutates real paths."""
    write_seeds(tmp_path)
    for path in sorted(tmp_path.iterdir()):
        assert ingest(path.read_bytes(), origin="fuzz").status == "stored", path.name
