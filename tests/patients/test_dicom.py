"""Patients and DICOM: arriving studies create or flag records; merge and undo; visits."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.patients.models import PatientRecord
from hounsfield.studies.models import Patient as DicomPatient
from tests.dicom_factory import make_dataset, to_bytes

Headers = Callable[..., dict[str, str]]


@pytest.fixture
def admin(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("admin")


def _store(**overrides: Any) -> str:
    """Ingest one instance of a new study; returns its StudyInstanceUID."""
    study = overrides.pop("StudyInstanceUID", generate_uid())
    ds = make_dataset(StudyInstanceUID=study, **overrides)
    assert ingest(to_bytes(ds), origin="test").status == "stored"
    return str(study)


def _record(mrn: str) -> PatientRecord:
    with transaction() as session:
        record = session.scalar(sa.select(PatientRecord).where(PatientRecord.mrn == mrn))
        assert record is not None
        return record


def test_a_study_of_an_unknown_patient_creates_its_record(
    client: TestClient, admin: dict[str, str]
) -> None:
    uid = _store(
        PatientID="D100",
        PatientName="Zhang^Sanfeng=张^三丰",
        PatientSex="M",
        PatientBirthDate="19800203",
        StudyDate="20240101",
    )
    _store(
        PatientID="D100",
        PatientName="Zhang^Sanfeng=张^三丰",
        PatientSex="M",
        PatientBirthDate="19800203",
        StudyInstanceUID=uid,
    )
    record = _record("D100")
    assert (record.name_ideographic, record.name_alphabetic) == ("张^三丰", "Zhang^Sanfeng")
    assert (record.sex, str(record.birth_date)) == ("M", "1980-02-03")
    later = _store(
        PatientID="D100",
        PatientName="Zhang^Sanfeng=张^三丰",
        PatientSex="M",
        PatientBirthDate="19800203",
        StudyDate="20250101",
        StudyDescription="MR HEAD",
        Modality="MR",
    )
    _store(PatientID=None, PatientName="Anon^Ymous")  # no Patient ID: no record
    with transaction() as session:
        assert session.scalar(sa.select(sa.func.count()).select_from(PatientRecord)) == 1

    found = client.get("/api/patients", params={"q": "zsf"}, headers=admin).json()
    assert [p["mrn"] for p in found["items"]] == ["D100"]
    assert found["items"][0]["needs_reconciliation"] is False
    studies = client.get(f"/api/patients/{record.id}/studies", headers=admin).json()
    assert studies["total"] == 2
    assert [s["study_instance_uid"] for s in studies["items"]] == [later, uid]  # newest first
    assert studies["items"][0]["modalities"] == ["MR"]
    assert studies["items"][0]["description"] == "MR HEAD"
    assert studies["items"][1]["number_of_instances"] == 2


def test_differing_demographics_are_flagged_never_applied(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = client.post(
        "/api/patients",
        json={"mrn": "D200", "name_alphabetic": "Li^Si", "sex": "F", "birth_date": "1970-01-01"},
        headers=admin,
    ).json()
    uid = _store(
        PatientID="D200", PatientName="Li^Sii", PatientSex="M", PatientBirthDate="19700101"
    )
    _store(
        PatientID="D200", PatientName="Li^Si", PatientSex="F", PatientBirthDate="19700101"
    )  # the same demographics: not flagged
    record = _record("D200")
    assert (record.id, record.sex, record.name_alphabetic) == (created["id"], "F", "Li^Si")

    listing = client.get("/api/patients/reconciliation", headers=admin).json()
    assert listing["total"] == 1
    item = listing["items"][0]
    assert (item["patient_id"], item["study_instance_uid"]) == (record.id, uid)
    assert item["differences"] == {
        "name_alphabetic": {"record": "Li^Si", "dicom": "Li^Sii"},
        "sex": {"record": "F", "dicom": "M"},
    }
    shown = client.get(f"/api/patients/{record.id}", headers=admin).json()
    assert shown["needs_reconciliation"] is True

    resolved = client.post(
        f"/api/patients/reconciliation/{item['id']}/resolve",
        json={"action": "accept_dicom"},
        headers=admin,
    )
    assert resolved.status_code == 200, resolved.text
    body = resolved.json()
    assert (body["sex"], body["name_alphabetic"], body["version"]) == ("M", "Li^Sii", 2)
    assert body["needs_reconciliation"] is False
    again = client.post(
        f"/api/patients/reconciliation/{item['id']}/resolve",
        json={"action": "keep_record"},
        headers=admin,
    )
    assert again.status_code == 409
    assert client.get("/api/patients/reconciliation", headers=admin).json()["total"] == 0


def _visit(client: TestClient, headers: dict[str, str], patient_id: int, **fields: Any) -> int:
    body = {"visit_date": "2024-03-01", "visit_type": "outpatient", **fields}
    response = client.post(f"/api/patients/{patient_id}/visits", json=body, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def test_merge_moves_studies_and_visits_and_undo_restores_exactly(
    client: TestClient, admin: dict[str, str]
) -> None:
    source_study = _store(PatientID="M1", PatientName="Wang^Wu")
    target_study = _store(PatientID="M2", PatientName="Wang^Wu")
    source, target = _record("M1"), _record("M2")
    source_visit = _visit(client, admin, source.id, department="内科")

    merged = client.post(
        "/api/patients/merge", json={"source_id": source.id, "target_id": target.id}, headers=admin
    )
    assert merged.status_code == 200, merged.text
    merge_id = merged.json()["merge_id"]
    assert merged.json()["target_id"] == target.id
    studies = client.get(f"/api/patients/{target.id}/studies", headers=admin).json()
    assert {s["study_instance_uid"] for s in studies["items"]} == {source_study, target_study}
    visits = client.get(f"/api/patients/{target.id}/visits", headers=admin).json()
    assert [v["id"] for v in visits["items"]] == [source_visit]
    assert client.get(f"/api/patients/{source.id}", headers=admin).status_code == 404
    later_visit = _visit(client, admin, target.id)  # added after the merge: stays

    undone = client.post(f"/api/patients/merges/{merge_id}/undo", headers=admin)
    assert undone.status_code == 200, undone.text
    assert client.get(f"/api/patients/{source.id}", headers=admin).status_code == 200
    for patient_id, study, visit in (
        (source.id, source_study, source_visit),
        (target.id, target_study, later_visit),
    ):
        items = client.get(f"/api/patients/{patient_id}/studies", headers=admin).json()["items"]
        assert [s["study_instance_uid"] for s in items] == [study]
        items = client.get(f"/api/patients/{patient_id}/visits", headers=admin).json()["items"]
        assert [v["id"] for v in items] == [visit]
    with transaction() as session:
        links = session.execute(
            sa.select(DicomPatient.patient_id, DicomPatient.patient_record_id)
        ).all()
    assert sorted(links) == [("M1", source.id), ("M2", target.id)]
    assert client.post(f"/api/patients/merges/{merge_id}/undo", headers=admin).status_code == 409
    same = client.post(
        "/api/patients/merge", json={"source_id": target.id, "target_id": target.id}, headers=admin
    )
    assert same.status_code == 422


def test_visits_and_timeline(client: TestClient, admin: dict[str, str]) -> None:
    study = _store(
        PatientID="T1", PatientName="Zhao^Liu", StudyDate="20240305", StudyDescription="CT CHEST"
    )
    record = _record("T1")
    _visit(
        client,
        admin,
        record.id,
        visit_date="2024-03-01",
        department="呼吸内科",
        attending_doctor="李医生",
        chief_complaint="咳嗽两周",
        diagnosis="肺炎",
        icd10_code="J18.9",
    )
    _visit(client, admin, record.id, visit_date="2024-03-10", visit_type="inpatient")
    bad = client.post(
        f"/api/patients/{record.id}/visits",
        headers=admin,
        json={"visit_date": "2024-03-01", "visit_type": "outpatient", "icd10_code": "pneumonia"},
    )
    assert bad.status_code == 422
    assert bad.json()["error"]["code"] == "icd10_invalid"

    visits = client.get(f"/api/patients/{record.id}/visits", headers=admin).json()
    assert visits["total"] == 2
    assert visits["items"][1]["icd10_code"] == "J18.9"
    items = client.get(f"/api/patients/{record.id}/timeline", headers=admin).json()["items"]
    assert [(i["kind"], i["at"][:10]) for i in items] == [
        ("visit", "2024-03-10"),
        ("study", "2024-03-05"),
        ("visit", "2024-03-01"),
    ]
    assert items[1]["ref"] == study
    assert "CT CHEST" in items[1]["title"]
    assert items[2]["title"] == "门诊 呼吸内科 肺炎"
