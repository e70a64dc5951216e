"""Every touch of patient data writes exactly one audit record with its DICOM A.5 EventID
(SECURITY.md U1): each route is called once and the new rows are counted."""

from __future__ import annotations

import time
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.ai import runtime
from hounsfield.audit import service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.studies.models import Patient as DicomPatient
from hounsfield.worker import shutdown_local_pool
from tests.ai.helpers import fixed_detector, manifest, upload
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body

QUERY, EXPORT, IMPORT, AUDIT_USED, AUTH = "110112", "110106", "110107", "110101", "110114"
PATIENT_RECORD = "110110"
JSON = {"Accept": "application/dicom+json"}


def _new_rows(after_id: int) -> list[AuditEvent]:
    service.flush_buffer()
    with transaction() as session:
        query = select(AuditEvent).where(AuditEvent.id > after_id).order_by(AuditEvent.id)
        return list(session.scalars(query))


def _rows_of_the_call(after_id: int) -> list[AuditEvent]:
    """The rows one call wrote. The app's sealer thread drains the journal too: when it
    has just taken the segment holding the event, our drain finds nothing and the row
    appears once the sealer's transaction commits (seen on PostgreSQL), so look again
    (bounded) until the call's row is there."""
    for _ in range(200):
        rows = _new_rows(after_id)
        if rows:
            return rows
        time.sleep(0.05)
    return rows


def _last_id() -> int:
    rows = _new_rows(0)
    return rows[-1].id if rows else 0


def test_each_phi_route_writes_exactly_one_record_with_its_event_id(
    client: TestClient, auth_headers: Any, make_user: Any
) -> None:
    admin = auth_headers("admin")
    ds = make_dataset(PatientID="P-U1")
    s, se, sop = ds.StudyInstanceUID, ds.SeriesInstanceUID, ds.SOPInstanceUID
    instance = f"/dicom-web/studies/{s}/series/{se}/instances/{sop}"
    body, content_type = multipart_body([to_bytes(ds)])
    routes: list[tuple[str, str, dict[str, str], str]] = [
        ("POST", "/dicom-web/studies", {"Content-Type": content_type}, IMPORT),
        ("GET", "/dicom-web/studies", JSON, QUERY),
        ("GET", f"/dicom-web/studies/{s}/series", JSON, QUERY),
        ("GET", f"/dicom-web/studies/{s}/series/{se}/instances", JSON, QUERY),
        ("GET", "/dicom-web/instances", JSON, QUERY),
        ("GET", f"/dicom-web/studies/{s}", {}, EXPORT),
        ("GET", f"/dicom-web/studies/{s}/series/{se}", {}, EXPORT),
        ("GET", instance, {}, EXPORT),
        ("GET", f"{instance}/metadata", JSON, EXPORT),
        ("GET", f"{instance}/frames/1", {}, EXPORT),
        ("GET", f"{instance}/rendered", {"Accept": "image/png"}, EXPORT),
        (
            "GET",
            f"/dicom-web/wado?requestType=WADO&studyUID={s}&seriesUID={se}&objectUID={sop}"
            "&contentType=application/dicom",
            {},
            EXPORT,
        ),
        ("GET", f"/api/studies/{s}/export?deidentify=false", {}, EXPORT),
        ("GET", "/api/audit", {}, AUDIT_USED),
    ]
    for method, path, headers, code in routes:
        before = _last_id()
        reply = client.request(
            method, path, headers={**admin, **headers}, content=body if method == "POST" else None
        )
        assert reply.status_code < 300, (path, reply.status_code, reply.text[:200])
        rows = _rows_of_the_call(before)
        if method == "POST":
            # The first study of an unknown PatientID also creates its patient record: an
            # event of its own (Patient Record), besides the import.
            assert [r.action for r in rows[:1]] == ["patient.create"], path
            assert rows[0].event_code == PATIENT_RECORD
            rows = rows[1:]
        assert [r.event_code for r in rows] == [code], (method, path, [r.action for r in rows])
        assert rows[0].actor_username is not None
        if path.startswith(f"/dicom-web/studies/{s}") or "export" in path or "wado?" in path:
            assert rows[0].patient_id == "P-U1", path
    doctor = make_user("doctor")
    before = _last_id()
    login(client, doctor.username)
    assert [r.event_code for r in _new_rows(before)] == [AUTH]


def test_each_patient_report_and_ai_read_writes_exactly_one_record(
    client: TestClient, auth_headers: Any, make_user: Any
) -> None:
    """The domains built on studies: a patient record (record, studies, visits, timeline,
    search), a report (read, versions, FHIR, PDF), critical results, an AI run."""
    runtime.sessions.clear()
    admin = auth_headers("admin")
    doctor_user = make_user("doctor")
    doctor = login(client, doctor_user.username)
    ds = make_dataset(PatientID="P-U1B")
    body, content_type = multipart_body([to_bytes(ds)])
    stored = client.post("/dicom-web/studies", content=body,
                         headers={**admin, "Content-Type": content_type})  # fmt: skip
    assert stored.status_code == 200, stored.text
    study = ds.StudyInstanceUID
    report = client.post("/api/reports", json={"study_instance_uid": study}, headers=doctor)
    critical = {"study_instance_uid": study, "finding": "气胸", "contacts": [str(doctor_user.id)]}
    flagged = client.post("/api/critical-results", headers=doctor, json=critical)
    assert (
        upload(client, admin, manifest("boxes", "detection"), fixed_detector()).status_code == 201
    )
    run = client.post("/api/ai/diagnose", headers=doctor,
                      json={"study_instance_uid": study, "model": "boxes"})  # fmt: skip
    assert (report.status_code, flagged.status_code, run.status_code) == (201, 201, 202)
    shutdown_local_pool(wait=True)
    with transaction() as session:
        record = session.scalar(
            select(DicomPatient.patient_record_id).where(DicomPatient.patient_id == "P-U1B")
        )
    rid = report.json()["id"]
    routes = [
        (f"/api/patients/{record}", "patient.read"),
        (f"/api/patients/{record}/studies", "patient.read"),
        (f"/api/patients/{record}/visits", "patient.read"),
        (f"/api/patients/{record}/timeline", "patient.read"),
        ("/api/patients?q=P-U1B", "patient.query"),
        (f"/api/reports/{rid}", "report.read"),
        (f"/api/reports/{rid}/versions", "report.read"),
        (f"/api/reports/{rid}/fhir", "report.read"),
        (f"/api/reports/{rid}/pdf", "report.read"),
        ("/api/critical-results", "critical_result.list"),
        (f"/api/ai/runs/{run.json()['run_id']}", "ai.read"),
        (f"/api/ai/runs?study_instance_uid={study}", "ai.read"),
    ]
    for path, action in routes:
        before = _last_id()
        reply = client.get(path, headers=doctor)
        assert reply.status_code == 200, (path, reply.status_code, reply.text[:200])
        rows = _rows_of_the_call(before)
        assert [(r.action, r.event_code) for r in rows] == [(action, PATIENT_RECORD)], path
        assert rows[0].actor_username == doctor_user.username
