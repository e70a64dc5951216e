"""SECURITY I9: sqlmap (`--batch --level 3`) against QIDO-RS and the user and audit
searches of a live server, with a valid token: no parameter is injectable.

In `make test` (about 30 s): the string parameters only, boolean-blind, error-based and
UNION payloads, for the test database's DBMS. `make security-scan` (several minutes,
HOUNSFIELD_SQLMAP_FULL=1) tests every parameter and header of level 3 with every
technique, time-based and stacked queries included, for any DBMS. A 401, 429 or 5xx would
make sqlmap's verdict meaningless, so the run must have none, and the original request
must be answered 200.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from hounsfield.ingest.service import ingest
from tests.conftest import TEST_PASSWORD
from tests.dicom_factory import make_dataset, to_bytes
from tests.live_server import free_port, serve, stop

REPO = Path(__file__).resolve().parents[2]
SQLMAP = shutil.which("sqlmap", path=str(Path(sys.executable).parent)) or "sqlmap"
FULL = os.environ.get("HOUNSFIELD_SQLMAP_FULL") == "1"
TARGETS = {  # path and query, and the parameters the quick run tests
    "qido": ("/dicom-web/studies?PatientName=Doe*&PatientID=P0001&AccessionNumber=ACC0001"
             "&StudyDescription=CT*&ModalitiesInStudy=CT&StudyDate=20240115",
             "PatientName,PatientID,StudyDescription"),
    "users": ("/api/users?limit=10&offset=0", "limit,offset"),
    "audit": ("/api/audit?actor=admin&action=image.store&patient_id=P0001&resource_id=1.2.3",
              "actor,patient_id"),
}  # fmt: skip
DBMS = {"sqlite": "SQLite", "postgresql": "PostgreSQL", "mysql": "MySQL"}
REFUSALS = re.compile(r"\b(401|403|429|5\d\d) \(")


@pytest.fixture
def server(make_user: Callable[..., Any]) -> Iterator[tuple[str, str]]:
    """(base URL, token) of a live server with one study and an administrator who reads."""
    ingest(to_bytes(make_dataset()), origin="test")
    user = make_user(["admin", "doctor"])
    port = free_port()
    process = serve(port, {"HOUNSFIELD_HTTP__RATE_LIMIT_PER_MINUTE": "0"}, cwd=REPO)
    base = f"http://127.0.0.1:{port}"
    login = requests.post(f"{base}/api/auth/login", timeout=30,
                          json={"username": user.username, "password": TEST_PASSWORD})  # fmt: skip
    assert login.status_code == 200, login.text
    yield base, login.json()["access_token"]
    stop(process)


def _sqlmap(url: str, parameters: str, token: str, out: Path) -> str:
    from sqlalchemy.engine import make_url

    from hounsfield.config import get_settings

    scope = ["--technique", "BEUSTQ"] if FULL else [
        "--technique", "BEU", "-p", parameters,
        "--dbms", DBMS[make_url(get_settings().sqlalchemy_url).get_backend_name()],
    ]  # fmt: skip
    result = subprocess.run(
        [SQLMAP, "-u", url, "--batch", "--level", "3", "--risk", "1", *scope,
         "--flush-session", "--output-dir", str(out), "--disable-coloring", "--threads", "4",
         "--headers", f"Authorization: Bearer {token}\nAccept: application/json"],
        capture_output=True, text=True, timeout=3600, cwd=out,
    )  # fmt: skip
    return result.stdout + result.stderr


@pytest.mark.slow
@pytest.mark.once  # the queries are built the same way for every database
def test_sqlmap_finds_nothing_injectable(server: tuple[str, str], tmp_path: Path) -> None:
    base, token = server  # one server for every target: starting it costs more than a scan
    for target, (path, parameters) in sorted(TARGETS.items()):
        original = requests.get(base + path, timeout=30,
                                headers={"Authorization": f"Bearer {token}"})  # fmt: skip
        assert original.status_code == 200, target
        (tmp_path / target).mkdir()
        log = _sqlmap(base + path, parameters, token, tmp_path / target)
        assert "all tested parameters do not appear to be injectable" in log, log[-3000:]
        assert "identified the following injection point" not in log, target
        codes = log.split("HTTP error codes detected during run:")[-1] if "detected" in log else ""
        assert not REFUSALS.search(codes), (target, codes[:500])
