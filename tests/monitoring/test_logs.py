"""No password, token or patient name in a log line (SECURITY.md U5)."""

from __future__ import annotations

import logging
import subprocess
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.db import get_engine
from hounsfield.logging import configure
from tests.conftest import TEST_PASSWORD
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body
from tests.live_server import free_port, serve, stop


def test_logs_carry_no_secrets(
    client: TestClient, make_user: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    configure("DEBUG", json_output=True)
    try:
        user = make_user("doctor")
        client.post("/api/auth/login", json={"username": user.username, "password": "Wr0ng-Canary"})
        ok = client.post(
            "/api/auth/login", json={"username": user.username, "password": TEST_PASSWORD}
        )
        token = ok.json()["access_token"]
        refresh = ok.json()["refresh_token"]
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        logging.getLogger("hounsfield.test").info(
            "probe", extra={"password": "leak1", "authorization": f"Bearer {token}"}
        )
        logging.getLogger("hounsfield.test").warning("header was Bearer %s", token)
    finally:
        logging.getLogger().handlers[:] = []
    output = capfd.readouterr().err
    assert '"route": "/api/auth/login"' in output
    for secret in ("Wr0ng-Canary", TEST_PASSWORD, token, refresh, "leak1"):
        assert secret not in output


CANARY_NAME = "ZZCANARY^测试"
CANARY_ID = "ZZCANARYID42"


def _canary_file(tmp_path: Path) -> tuple[Path, Any]:
    ds = make_dataset(PatientName=CANARY_NAME, PatientID=CANARY_ID)
    path = tmp_path / "canary.dcm"
    path.write_bytes(to_bytes(ds))
    return path, ds


def test_no_patient_data_in_any_log_line_when_the_database_fails(
    tmp_path: Path, make_user: Any
) -> None:
    """U5 / issue 14.7: a canary patient through STOW, QIDO and C-STORE while a table is
    missing (real database errors); every line the server logs is searched for it."""
    path, ds = _canary_file(tmp_path)
    user = make_user("technician")
    http, dimse = free_port(), free_port()
    log = tmp_path / "server.log"
    env = {
        "HOUNSFIELD_LOG_LEVEL": "DEBUG",
        "HOUNSFIELD_DICOM__ENABLED": "true",
        "HOUNSFIELD_DICOM__PORT": str(dimse),
    }
    url = f"http://127.0.0.1:{http}"
    with log.open("wb") as sink:
        process = serve(http, env, cli=True, stdout=sink, stderr=subprocess.STDOUT)
        try:
            token = requests.post(
                f"{url}/api/auth/login",
                json={"username": user.username, "password": TEST_PASSWORD},
                timeout=30,
            ).json()["access_token"]
            headers = {"Authorization": f"Bearer {token}"}
            body, content_type = multipart_body([path.read_bytes()])
            stow = {**headers, "Content-Type": content_type}
            assert requests.post(f"{url}/dicom-web/studies", data=body, headers=stow).ok
            with get_engine().begin() as conn:  # every query on patients fails
                conn.execute(sa.text("ALTER TABLE dicom_patients RENAME TO patients_away"))
            try:
                again = make_dataset(PatientName=CANARY_NAME, PatientID=CANARY_ID)
                body, content_type = multipart_body([to_bytes(again)])
                failed = requests.post(
                    f"{url}/dicom-web/studies",
                    data=body,
                    headers={**headers, "Content-Type": content_type},
                )
                # Refused: 503 where the driver reports an outage (SQLite's "no such table"),
                # a processing failure (409: every instance failed) where it reports a
                # programming error (MariaDB, PostgreSQL). Either way nothing is stored.
                assert failed.status_code in (409, 503)
                qido = requests.get(
                    f"{url}/dicom-web/studies",
                    params={"PatientName": "ZZCANARY*", "PatientID": CANARY_ID},
                    headers={**headers, "Accept": "application/dicom+json"},
                )
                assert qido.status_code >= 500
                again.SOPInstanceUID = again.file_meta.MediaStorageSOPInstanceUID = (
                    "1.2.826.0.1.3680043.8.498.4242"
                )
                path.write_bytes(to_bytes(again))
                store = subprocess.run(
                    ["storescu", "-aec", "HOUNSFIELD", "127.0.0.1", str(dimse), str(path)],
                    capture_output=True,
                    timeout=120,
                    check=False,
                )
                assert store.returncode != 0 or b"Error" in store.stderr  # refused, not stored
            finally:
                with get_engine().begin() as conn:
                    conn.execute(sa.text("ALTER TABLE patients_away RENAME TO dicom_patients"))
        finally:
            stop(process)
    output = log.read_bytes().decode("utf-8", "replace")
    assert "Traceback" in output or '"exception"' in output  # the errors were logged
    for canary in (CANARY_NAME, "ZZCANARY", CANARY_ID, ds.PatientName.family_name):
        assert canary not in output, f"{canary!r} in the server log"


@pytest.mark.parametrize(
    "message",
    [
        # PostgreSQL and MariaDB quote the offending values in their own error text.
        'duplicate key value violates unique constraint "uq_x"\n'
        "DETAIL:  Key (patient_id)=(ZZCANARYID42) already exists.",
        'null value in column "x" violates not-null constraint\n'
        "DETAIL:  Failing row contains (1, ZZCANARY^测试, null).",
        "(1062, \"Duplicate entry 'ZZCANARYID42' for key 'uq_x'\")",
        "(1366, \"Incorrect string value: 'ZZCANARY^测试' for column 'x' at row 1\")",
        "[SQL: INSERT INTO x VALUES (?)]\n[parameters: ('ZZCANARY^测试',)]",
    ],
)
def test_values_quoted_by_database_errors_are_scrubbed(
    message: str, capfd: pytest.CaptureFixture[str]
) -> None:
    configure("INFO", json_output=True)
    try:
        try:
            raise RuntimeError(message)
        except RuntimeError:
            logging.getLogger("hounsfield.test").exception("database error: %s", message)
    finally:
        logging.getLogger().handlers[:] = []
    output = capfd.readouterr().err
    assert "database error" in output
    assert "ZZCANARY" not in output
