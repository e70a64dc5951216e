"""Study scoping (SECURITY.md A6) of what hangs off a study: reports, critical results and
AI runs and findings. A doctor scoped to cardiology tries every report, critical-result and
AI route on neurology's study and gets nothing of it (404, or 403 out_of_scope where the
study routes answer so), while the same routes work on a cardiology study.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.ai import runtime
from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.reports.models import CriticalResult, Report
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.worker import shutdown_local_pool
from tests.ai.helpers import fixed_detector, manifest, upload
from tests.auth.test_scope import CANARY, tenants  # noqa: F401  (fixture)
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes

REFUSED = (403, 404)


def _report(client: TestClient, headers: dict[str, str], study_uid: str) -> dict[str, Any]:
    made = client.post("/api/reports", json={"study_instance_uid": study_uid}, headers=headers)
    assert made.status_code == 201, made.text
    return made.json()  # type: ignore[no-any-return]


def _reads(report_id: str) -> list[str]:
    base = f"/api/reports/{report_id}"
    return [base, f"{base}/pdf", f"{base}/fhir", f"{base}/versions", f"{base}/verify",
            f"{base}/print"]  # fmt: skip


def _writes(report: dict[str, Any]) -> list[tuple[str, dict[str, Any] | None]]:
    base = f"/api/reports/{report['id']}"
    return [
        (base, {"version": report["version"], "findings": "scoped edit"}),  # PATCH
        (f"{base}/submit", None),
        (f"{base}/approve", None),
        (f"{base}/amend", {"kind": "addendum", "reason": "scoped amend", "addendum": "x"}),
        (f"{base}/cancel", {"reason": "scoped cancel"}),
    ]


@pytest.fixture
def scoped(client: TestClient, make_user: Callable[..., Any]) -> tuple[Any, dict[str, str]]:
    user = make_user("doctor", groups=["cardio"])
    return user, login(client, user.username)


def test_a_scoped_user_reaches_no_report_of_another_department(
    client: TestClient,
    make_user: Callable[..., Any],
    tenants: dict[str, Any],  # noqa: F811
    scoped: tuple[Any, dict[str, str]],
) -> None:
    x, y = tenants["x"], tenants["y"]
    as_other = login(client, make_user("doctor").username)  # unscoped
    theirs = _report(client, as_other, y.StudyInstanceUID)
    signed = _report(client, as_other, y.StudyInstanceUID)
    assert client.post(f"/api/reports/{signed['id']}/approve", headers=as_other).status_code == 200
    _user, headers = scoped

    for report in (theirs, signed):
        for url in _reads(report["id"]):
            got = client.get(url, headers=headers)
            assert got.status_code == 404, (url, got.status_code)
            assert CANARY.encode() not in got.content
        for url, body in _writes(report):
            method = client.patch if url.endswith(report["id"]) else client.post
            assert method(url, json=body, headers=headers).status_code == 404, url
    with transaction() as session:  # nothing the refused writes asked for happened
        rows = session.scalars(
            select(Report).where(Report.study_instance_uid == y.StudyInstanceUID)
        )
        assert sorted(r.status for r in rows) == ["draft", "final"]
        assert all(r.findings != "scoped edit" and not r.addenda for r in rows)
    for params in ({}, {"study_instance_uid": y.StudyInstanceUID}, {"patient_id": f"{CANARY}-ID"},
                   {"status": "final"}):  # fmt: skip
        listed = client.get("/api/reports", params=params, headers=headers).json()
        assert listed == {"total": 0, "items": []}, params
    created = client.post("/api/reports", json={"study_instance_uid": y.StudyInstanceUID},
                          headers=headers)  # fmt: skip
    assert created.status_code == 403  # as the study routes: out of scope, break-glass named
    assert created.json()["error"]["code"] == "out_of_scope"

    # The same routes on their own department's study work.
    mine = _report(client, headers, x.StudyInstanceUID)
    for url in _reads(mine["id"]):
        assert client.get(url, headers=headers).status_code == 200, url
    assert client.get("/api/reports", headers=headers).json()["total"] == 1
    assert client.post(f"/api/reports/{mine['id']}/submit", headers=headers).status_code == 200
    assert client.post(f"/api/reports/{mine['id']}/approve", headers=headers).status_code == 200


def test_a_patient_timeline_shows_only_the_reports_of_studies_in_scope(
    client: TestClient,
    make_user: Callable[..., Any],
    tenants: dict[str, Any],  # noqa: F811
    scoped: tuple[Any, dict[str, str]],
) -> None:
    """One patient record, studies in two departments: the record's timeline follows scope."""
    x = tenants["x"]
    z = make_dataset(InstitutionalDepartmentName="NEUROLOGY", PatientID=x.PatientID,
                     PatientName=x.PatientName, AccessionNumber="ZZNEUROACC2")  # fmt: skip
    assert ingest(to_bytes(z), origin="test").ok
    as_other = login(client, make_user("doctor").username)
    mine = _report(client, as_other, x.StudyInstanceUID)
    theirs = _report(client, as_other, z.StudyInstanceUID)
    with transaction() as session:
        record = session.scalar(
            select(DicomPatient.patient_record_id).where(DicomPatient.patient_id == x.PatientID)
        )
    url = f"/api/patients/{record}/timeline"
    everything = client.get(url, headers=as_other).json()
    assert {e["ref"] for e in everything["items"]} >= {mine["id"], theirs["id"]}
    _user, headers = scoped
    refs = {e["ref"] for e in client.get(url, headers=headers).json()["items"]}
    assert {mine["id"], x.StudyInstanceUID} <= refs
    assert not {theirs["id"], z.StudyInstanceUID} & refs


def test_a_scoped_user_reaches_no_critical_result_of_another_department(
    client: TestClient,
    make_user: Callable[..., Any],
    tenants: dict[str, Any],  # noqa: F811
    scoped: tuple[Any, dict[str, str]],
) -> None:
    x, y = tenants["x"], tenants["y"]
    user, headers = scoped
    as_other = login(client, make_user("doctor").username)
    # Even named as a contact, the scoped user cannot see or acknowledge neurology's result.
    flagged = client.post("/api/critical-results", headers=as_other, json={
        "study_instance_uid": y.StudyInstanceUID, "finding": f"{CANARY} 脑出血",
        "contacts": [str(user.id)]})  # fmt: skip
    assert flagged.status_code == 201, flagged.text
    item = flagged.json()
    for params in ({}, {"open": "true"}, {"open": "false"}):
        listed = client.get("/api/critical-results", params=params, headers=headers)
        assert listed.status_code == 200, params
        assert listed.json() == {"total": 0, "items": []}, params
    counted = client.get("/api/critical-results/counts", headers=headers).json()
    assert counted == {"open": 0, "closed": 0}
    ack = client.post(f"/api/critical-results/{item['id']}/acknowledge", headers=headers)
    assert ack.status_code == 404
    assert CANARY.encode() not in ack.content
    refused = client.post("/api/critical-results", headers=headers, json={
        "study_instance_uid": y.StudyInstanceUID, "finding": "scoped flag",
        "contacts": [str(user.id)]})  # fmt: skip
    assert refused.status_code in REFUSED
    with transaction() as session:
        rows = session.scalars(select(CriticalResult)).all()
        assert [(r.finding, r.acknowledged_at) for r in rows] == [(f"{CANARY} 脑出血", None)]

    own = client.post("/api/critical-results", headers=headers, json={
        "study_instance_uid": x.StudyInstanceUID, "finding": "气胸",
        "contacts": [str(user.id)]})  # fmt: skip
    assert own.status_code == 201, own.text
    listed_own = client.get("/api/critical-results", headers=headers).json()["items"]
    assert [c["id"] for c in listed_own] == [own.json()["id"]]
    acked = client.post(f"/api/critical-results/{own.json()['id']}/acknowledge", headers=headers)
    assert acked.status_code == 200


def test_a_scoped_user_reaches_no_ai_run_or_finding_of_another_department(
    client: TestClient,
    make_user: Callable[..., Any],
    auth_headers: Callable[..., dict[str, str]],
    tenants: dict[str, Any],  # noqa: F811
    scoped: tuple[Any, dict[str, str]],
) -> None:
    runtime.sessions.clear()
    x, y = tenants["x"], tenants["y"]
    made = upload(client, auth_headers("admin"), manifest("boxes", "detection"), fixed_detector())
    assert made.status_code == 201, made.text
    as_other = login(client, make_user("doctor").username)
    _user, headers = scoped

    def run_on(study_uid: str, as_: dict[str, str]) -> dict[str, Any]:
        started = client.post("/api/ai/diagnose", headers=as_,
                              json={"study_instance_uid": study_uid, "model": "boxes"})  # fmt: skip
        assert started.status_code == 202, started.text
        shutdown_local_pool(wait=True)  # the run was handed to the embedded pool after commit
        run = client.get(f"/api/ai/runs/{started.json()['run_id']}", headers=as_)
        assert run.status_code == 200, run.text
        assert run.json()["status"] == "succeeded", run.text
        assert run.json()["findings"], run.json()
        return run.json()  # type: ignore[no-any-return]

    theirs = run_on(y.StudyInstanceUID, as_other)
    asked = {"study_instance_uid": y.StudyInstanceUID, "model": "boxes"}
    refused = client.post("/api/ai/diagnose", headers=headers, json=asked)
    assert refused.status_code in REFUSED
    seen = client.get(f"/api/ai/runs/{theirs['id']}", headers=headers)
    assert seen.status_code in REFUSED
    assert y.StudyInstanceUID.encode() not in seen.content
    listed = client.get("/api/ai/runs", params={"study_instance_uid": y.StudyInstanceUID},
                        headers=headers)  # fmt: skip
    assert listed.status_code in REFUSED
    assert theirs["id"].encode() not in listed.content
    finding = theirs["findings"][0]["id"]
    review = client.post(f"/api/ai/findings/{finding}/review", headers=headers,
                         json={"decision": "accept"})  # fmt: skip
    assert review.status_code in REFUSED
    after = client.get(f"/api/ai/runs/{theirs['id']}", headers=as_other).json()
    assert after["findings"][0]["status"] == "suggestion"  # the refused review changed nothing

    mine = run_on(x.StudyInstanceUID, headers)
    accepted = client.post(f"/api/ai/findings/{mine['findings'][0]['id']}/review", headers=headers,
                           json={"decision": "accept"})  # fmt: skip
    assert accepted.status_code == 200, accepted.text
