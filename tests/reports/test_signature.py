"""The Ed25519 signature of an approved report: a change made directly in the database is
detected, by the API and by `hounsfield report verify`; and the FHIR export is valid."""

from __future__ import annotations

import base64
from typing import Any

from fastapi.testclient import TestClient
from fhir.resources.R4B.diagnosticreport import DiagnosticReport
from sqlalchemy import text
from typer.testing import CliRunner

from hounsfield.cli import app as cli
from hounsfield.db import get_engine
from tests.reports.conftest import new_report


def signed_report(client: TestClient, doctors: list[Any], study_uid: str) -> str:
    (_wang, as_wang), (_li, as_li) = doctors
    report = new_report(client, as_wang, study_uid)
    body = {"version": 1, "findings": "两肺纹理清晰。", "impression": "未见异常。"}
    client.patch(f"/api/reports/{report['id']}", headers=as_wang, json=body)
    assert client.post(f"/api/reports/{report['id']}/approve", headers=as_li).status_code == 200
    return str(report["id"])


def raw(sql: str, **params: Any) -> None:
    with get_engine().begin() as conn:
        conn.execute(text(sql), params)


def test_a_change_in_the_database_breaks_the_signature(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    rid = signed_report(client, doctors, study_uid)
    as_wang = doctors[0][1]
    assert client.get(f"/api/reports/{rid}/verify", headers=as_wang).json()["valid"] is True
    runner = CliRunner()
    ok = runner.invoke(cli, ["report", "verify", rid])
    assert ok.exit_code == 0, ok.output
    assert "signature valid" in ok.output

    # The report row changed behind the application's back.
    raw("UPDATE reports SET impression = :v WHERE id = :id", v="恶性肿瘤。", id=_db_id(rid))
    broken = client.get(f"/api/reports/{rid}/verify", headers=as_wang).json()
    assert broken == {**broken, "valid": False, "reason": "report_changed_after_signing"}
    failed = runner.invoke(cli, ["report", "verify", rid])
    assert failed.exit_code == 1
    assert "report_changed_after_signing" in failed.output


def test_a_forged_version_does_not_verify(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    """Changing the report AND its signed version alike still fails: the signature covers it."""
    rid = signed_report(client, doctors, study_uid)
    as_wang = doctors[0][1]
    report = client.get(f"/api/reports/{rid}", headers=as_wang).json()
    versions = client.get(f"/api/reports/{rid}/versions", headers=as_wang).json()["items"]
    content = versions[-1]["content"]
    content["impression"] = "恶性肿瘤。"
    import json

    raw("UPDATE reports SET impression = :v WHERE id = :id", v="恶性肿瘤。", id=_db_id(rid))
    raw("UPDATE report_versions SET content = :c WHERE number = :n",
        c=json.dumps(content, ensure_ascii=False), n=versions[-1]["number"])  # fmt: skip
    result = client.get(f"/api/reports/{rid}/verify", headers=as_wang).json()
    assert result["valid"] is False
    assert result["reason"] == "signature_mismatch"
    assert report["status"] == "final"


def _db_id(report_id: str) -> str:
    """The id as the database stores it (SQLite and MariaDB: 32 hex digits; PostgreSQL: uuid)."""
    dialect = get_engine().dialect.name
    return report_id if dialect == "postgresql" else report_id.replace("-", "")


def test_fhir_diagnostic_report(client: TestClient, doctors: list[Any], study_uid: str) -> None:
    rid = signed_report(client, doctors, study_uid)
    resource = client.get(f"/api/reports/{rid}/fhir", headers=doctors[0][1]).json()
    parsed = DiagnosticReport.model_validate(resource)  # raises when not valid FHIR
    assert parsed.status == "final"
    assert resource["imagingStudy"][0]["identifier"]["value"] == f"urn:oid:{study_uid}"
    assert resource["subject"]["reference"].startswith("Patient/")
    assert "两肺纹理清晰。" in base64.b64decode(resource["presentedForm"][0]["data"]).decode()
    assert resource["conclusion"] == "未见异常。"
