"""Every touch of patient data writes exactly one audit record with its DICOM A.5 EventID
(SECURITY.md U1): each route is called once and the new rows are counted."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
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
        rows = _new_rows(before)
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
