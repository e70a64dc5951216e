"""The Studies API of the web UI: list, filter, sort, page, detail, delete (+ audit)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.ingest.service import store_instance
from hounsfield.studies.models import Instance, Study
from tests.dicom_factory import make_dataset, to_bytes

Headers = Callable[..., dict[str, str]]


def add(**overrides: Any) -> Any:
    ds = make_dataset(**overrides)
    with transaction(write=True) as session:
        store_instance(session, to_bytes(ds), origin="test")
    return ds


@pytest.fixture
def studies() -> dict[str, Any]:
    a = add(
        PatientID="A1",
        PatientName="Smith^John",
        StudyDate="20240105",
        AccessionNumber="ACC-1",
        Modality="CT",
        StudyDescription="HEAD",
    )
    add(
        StudyInstanceUID=a.StudyInstanceUID,
        PatientID="A1",
        PatientName="Smith^John",
        Modality="CT",
        SeriesInstanceUID=a.SeriesInstanceUID,
        InstanceNumber=2,
    )
    a_mr = add(
        StudyInstanceUID=a.StudyInstanceUID,
        PatientID="A1",
        PatientName="Smith^John",
        Modality="MR",
        SeriesNumber=2,
    )
    b = add(
        PatientID="B2",
        PatientName="Brown^Anna",
        StudyDate="20240220",
        AccessionNumber="ACC-2",
        Modality="MR",
    )
    c = add(
        PatientID="C3",
        PatientName="Zhang^Wei=张^伟",
        StudyDate="20231201",
        AccessionNumber="XRAY-3",
        Modality="DX",
        SpecificCharacterSet="GB18030",
        PatientBirthDate="19800229",
        PatientSex="M",
    )
    return {"a": a, "a_mr": a_mr, "b": b, "c": c}  # fmt: skip


def ids(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [item["patient_id"] for item in response.json()["items"]]


def test_list_sorts_newest_first_with_total(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    response = client.get("/api/studies", headers=auth_headers("nurse"))
    assert ids(response) == ["B2", "A1", "C3"]
    body = response.json()
    assert body["total"] == 3
    first_a = body["items"][1]
    assert first_a["modalities"] == ["CT", "MR"]
    assert first_a["number_of_series"] == 2
    assert first_a["number_of_instances"] == 3
    assert first_a["study_date"] == "2024-01-05"
    assert first_a["patient_birth_date"] == "1970-01-01"


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("study_date", ["C3", "A1", "B2"]), ("patient_name", ["B2", "A1", "C3"]),
     ("-patient_id", ["C3", "B2", "A1"]), ("accession_number", ["A1", "B2", "C3"]),
     ("modalities", ["A1", "C3", "B2"])],
)  # fmt: skip
def test_sorting(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any], sort: str,
    expected: list[str],
) -> None:  # fmt: skip
    assert (
        ids(client.get("/api/studies", params={"sort": sort}, headers=auth_headers())) == expected
    )


@pytest.mark.parametrize(
    ("params", "expected"),
    [({"q": "smith"}, ["A1"]), ({"q": "张伟"}, ["C3"]), ({"q": "zhang wei"}, ["C3"]),
     ({"q": "acc-2"}, ["B2"]), ({"q": "c3"}, ["C3"]), ({"q": "%"}, []),
     ({"patient_id": "B2"}, ["B2"]), ({"patient_name": "ann"}, ["B2"]),
     ({"patient_name": "张"}, ["C3"]), ({"accession_number": "ACC*"}, ["B2", "A1"]),
     ({"modality": "MR"}, ["B2", "A1"]),
     ({"study_date_from": "2024-01-01", "study_date_to": "2024-01-31"}, ["A1"]),
     ({"study_date_to": "2023-12-31"}, ["C3"])],
)  # fmt: skip
def test_filters(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any],
    params: dict[str, str], expected: list[str],
) -> None:  # fmt: skip
    assert ids(client.get("/api/studies", params=params, headers=auth_headers())) == expected


def test_paging(client: TestClient, auth_headers: Headers, studies: dict[str, Any]) -> None:
    headers = auth_headers()
    page1 = client.get("/api/studies", params={"limit": 2}, headers=headers).json()
    page2 = client.get("/api/studies", params={"limit": 2, "offset": 2}, headers=headers).json()
    assert page1["total"] == page2["total"] == 3
    assert [i["patient_id"] for i in page1["items"] + page2["items"]] == ["B2", "A1", "C3"]
    too_many = client.get("/api/studies", params={"limit": 501}, headers=headers)
    assert too_many.status_code == 422
    bad_sort = client.get("/api/studies", params={"sort": "password"}, headers=headers)
    assert bad_sort.status_code == 422


def test_detail_lists_series(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    uid = studies["a"].StudyInstanceUID
    response = client.get(f"/api/studies/{uid}", headers=auth_headers("doctor"))
    assert response.status_code == 200
    body = response.json()
    assert body["study_instance_uid"] == uid
    assert [(s["modality"], s["number_of_instances"]) for s in body["series"]] == [
        ("CT", 2),
        ("MR", 1),
    ]
    missing = client.get("/api/studies/1.2.3.4", headers=auth_headers("doctor"))
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "study_not_found"


def test_a_chinese_name_comes_back_decoded(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    response = client.get(f"/api/studies/{studies['c'].StudyInstanceUID}", headers=auth_headers())
    assert response.json()["patient_name"] == "Zhang^Wei=张^伟"
    assert response.json()["patient_birth_date"] == "1980-02-29"


def test_reads_are_audited_without_names(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    headers = auth_headers("doctor")
    client.get("/api/studies", params={"q": "smith"}, headers=headers)
    client.get(f"/api/studies/{studies['a'].StudyInstanceUID}", headers=headers)
    audit_service.flush_buffer()  # reads are journalled, then drained into the table
    with transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action.in_(["image.query", "image.read"]))
        ).all()
    assert {e.action for e in events} == {"image.query", "image.read"}
    read = next(e for e in events if e.action == "image.read")
    assert read.resource_id == studies["a"].StudyInstanceUID
    assert read.patient_id == "A1"
    assert all("smith" not in e.detail.lower() for e in events)


def test_reading_needs_a_token(client: TestClient, studies: dict[str, Any]) -> None:
    assert client.get("/api/studies").status_code == 401


def test_a_nurse_may_not_delete(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    uid = studies["a"].StudyInstanceUID
    assert client.delete(f"/api/studies/{uid}", headers=auth_headers("nurse")).status_code == 403
    assert client.get(f"/api/studies/{uid}", headers=auth_headers("nurse")).status_code == 200


def test_deleting_a_study_hides_it_everywhere(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    uid = studies["a"].StudyInstanceUID
    headers = auth_headers("admin")
    assert client.delete(f"/api/studies/{uid}", headers=headers).status_code == 204
    assert client.get(f"/api/studies/{uid}", headers=headers).status_code == 404
    assert ids(client.get("/api/studies", headers=headers)) == ["B2", "C3"]
    assert client.delete(f"/api/studies/{uid}", headers=headers).status_code == 404
    with transaction() as session:
        assert all(i.deleted_at is not None for i in session.scalars(
            select(Instance).join(Instance.series).join(Study).where(
                Study.study_instance_uid == uid)))  # fmt: skip
        deleted = session.scalar(select(AuditEvent).where(AuditEvent.action == "image.delete"))
        assert deleted is not None
        assert deleted.resource_id == uid


def test_deleting_a_series_and_an_instance_updates_counts(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    a, a_mr = studies["a"], studies["a_mr"]
    headers = auth_headers("admin")
    base = f"/api/studies/{a.StudyInstanceUID}"
    series_url = f"{base}/series/{a_mr.SeriesInstanceUID}"
    assert client.delete(series_url, headers=headers).status_code == 204
    body = client.get(base, headers=headers).json()
    assert body["modalities"] == ["CT"]
    assert (body["number_of_series"], body["number_of_instances"]) == (1, 2)
    instance_url = f"{base}/series/{a.SeriesInstanceUID}/instances/{a.SOPInstanceUID}"
    assert client.delete(instance_url, headers=headers).status_code == 204
    assert client.delete(instance_url, headers=headers).status_code == 404
    body = client.get(base, headers=headers).json()
    assert body["number_of_instances"] == 1
    assert body["series"][0]["number_of_instances"] == 1


def test_deleting_the_last_instance_removes_the_study(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    b = studies["b"]
    headers = auth_headers("admin")
    study_url = f"/api/studies/{b.StudyInstanceUID}"
    url = f"{study_url}/series/{b.SeriesInstanceUID}/instances/{b.SOPInstanceUID}"
    assert client.delete(url, headers=headers).status_code == 204
    assert client.get(f"/api/studies/{b.StudyInstanceUID}", headers=headers).status_code == 404


def test_a_deleted_study_received_again_comes_back(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    b = studies["b"]
    headers = auth_headers("admin")
    assert client.delete(f"/api/studies/{b.StudyInstanceUID}", headers=headers).status_code == 204
    with transaction(write=True) as session:
        assert store_instance(session, to_bytes(b), origin="test").status == "stored"
    body = client.get(f"/api/studies/{b.StudyInstanceUID}", headers=headers).json()
    assert (body["number_of_series"], body["number_of_instances"]) == (1, 1)


def test_purge_removes_rows_and_objects_of_deleted_studies(
    client: TestClient, auth_headers: Headers, studies: dict[str, Any]
) -> None:
    from datetime import timedelta

    from sqlalchemy import func

    from hounsfield.storage import get_storage
    from hounsfield.studies.service import purge_deleted

    b = studies["b"]
    with transaction() as session:
        key = session.scalar(
            select(Instance.storage_key).where(Instance.sop_instance_uid == b.SOPInstanceUID)
        )
    assert key is not None
    deleted = client.delete(f"/api/studies/{b.StudyInstanceUID}", headers=auth_headers())
    assert deleted.status_code == 204
    with transaction(write=True) as session:
        assert purge_deleted(session, older_than=timedelta(hours=1)) == 0  # too recent
    assert get_storage().exists(key)
    with transaction(write=True) as session:
        assert purge_deleted(session, older_than=timedelta(0)) == 1
    assert not get_storage().exists(key)
    with transaction() as session:
        assert session.scalar(
            select(func.count()).select_from(Study).where(
                Study.study_instance_uid == b.StudyInstanceUID)
        ) == 0  # fmt: skip
        assert session.scalar(select(func.count()).select_from(Instance)) == 4
