"""What the report pages read beyond the workflow: the inbox's critical results with their
patient, study, people and escalation level, paged with a total; version authors' names;
the print view's facts (hospital, patient, signer) in zh-CN or English, audited."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction, utcnow
from hounsfield.ingest.service import ingest
from hounsfield.reports import critical
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.reports.conftest import new_report


@pytest.fixture
def wang_study() -> str:
    """A CT of 王小明 (male, born 1970-03-02, studied 2024-01-15)."""
    uid = str(generate_uid())
    dataset = make_dataset(
        StudyInstanceUID=uid, AccessionNumber="ACC-CR-1", Modality="CT",
        PatientName="Wang^Xiaoming=王^小明=", PatientID="MRN0042", PatientSex="M",
        PatientBirthDate="19700302", StudyDescription="胸部CT平扫",
    )  # fmt: skip
    assert ingest(to_bytes(dataset), origin="test").status == "stored"
    return uid


def flag(client: TestClient, headers: dict[str, str], study: str, contacts: list[Any]) -> Any:
    flagged = client.post(
        "/api/critical-results",
        json={"study_instance_uid": study, "finding": "张力性气胸",
              "contacts": [str(c.id) for c in contacts]},
        headers=headers,
    )  # fmt: skip
    assert flagged.status_code == 201, flagged.text
    return flagged.json()


def test_the_inbox_shows_patient_study_people_and_escalation(
    client: TestClient, doctors: list[Any], wang_study: str, make_user: Callable[..., Any]
) -> None:
    (_, as_wang), (li, as_li) = doctors
    zhao = make_user("doctor", display_name="赵医生")
    item = flag(client, as_wang, wang_study, [li, zhao])
    assert item["patient_name"] == "王小明 (Wang Xiaoming)"
    assert (item["patient_id"], item["accession_number"]) == ("MRN0042", "ACC-CR-1")
    assert (item["modality"], item["study_date"]) == ("CT", "2024-01-15")
    assert item["study_description"] == "胸部CT平扫"
    assert (item["flagged_by_name"], item["current_contact_name"]) == ("王医生", "李主任")
    assert item["escalation_level"] == 0
    assert item["acknowledged_by_name"] is None

    with transaction(write=True) as session:
        assert critical.escalate_due(session, utcnow() + timedelta(minutes=16)) == 1
    listed = client.get("/api/critical-results", params={"open": "true"}, headers=as_li).json()
    assert listed["total"] == 1
    [escalated] = listed["items"]
    assert escalated["escalation_level"] == 1
    assert escalated["current_contact_name"] == "赵医生"

    acked = client.post(f"/api/critical-results/{item['id']}/acknowledge", headers=as_li)
    assert acked.status_code == 200, acked.text
    assert acked.json()["acknowledged_by_name"] == "李主任"
    closed = client.get("/api/critical-results", params={"open": "false"}, headers=as_li).json()
    assert closed["items"][0]["acknowledged_by_name"] == "李主任"


def test_the_inbox_pages_with_a_total_and_counts(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (_, as_wang), (li, as_li) = doctors
    ids = [flag(client, as_wang, study_uid, [li])["id"] for _ in range(3)]
    first = client.get("/api/critical-results", params={"limit": 2}, headers=as_li).json()
    second = client.get(
        "/api/critical-results", params={"limit": 2, "offset": 2}, headers=as_li
    ).json()
    assert first["total"] == second["total"] == 3
    assert len(first["items"]) == 2
    assert len(second["items"]) == 1
    assert {i["id"] for i in first["items"] + second["items"]} == set(ids)
    acked = client.post(f"/api/critical-results/{ids[0]}/acknowledge", headers=as_li)
    assert acked.status_code == 200, acked.text
    counts = client.get("/api/critical-results/counts", headers=as_li).json()
    assert counts == {"open": 2, "closed": 1}


def test_the_notification_links_to_the_inbox(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (_, as_wang), (li, as_li) = doctors
    item = flag(client, as_wang, study_uid, [li])
    page = client.get("/api/notifications", headers=as_li).json()
    links = [n["link"] for n in page["items"] if n["kind"] == "critical_result"]
    assert links == [f"/critical/?id={item['id']}"]


def test_versions_name_who_saved_them(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (_, as_wang), (_, as_li) = doctors
    report = new_report(client, as_wang, study_uid)
    assert client.post(f"/api/reports/{report['id']}/submit", headers=as_wang).status_code == 200
    assert client.post(f"/api/reports/{report['id']}/approve", headers=as_li).status_code == 200
    versions = client.get(f"/api/reports/{report['id']}/versions", headers=as_li).json()
    assert [(v["saved_by_name"], v["signed"]) for v in versions["items"]] == [
        ("王医生", False), ("王医生", False), ("李主任", True),
    ]  # fmt: skip


def test_print_facts_in_chinese_and_english_audited(
    client: TestClient,
    doctors: list[Any],
    wang_study: str,
    make_user: Callable[..., Any],
    settings_env: Callable[..., None],
) -> None:
    settings_env(HOUNSFIELD_REPORTS__HOSPITAL_NAME="示例人民医院")
    (_, as_wang), (_, as_li) = doctors
    report = new_report(client, as_wang, wang_study)
    url = f"/api/reports/{report['id']}/print"
    draft = client.get(url, headers=as_li).json()
    assert draft["signer"] is None  # not signed yet: the page says so
    assert client.post(f"/api/reports/{report['id']}/submit", headers=as_wang).status_code == 200
    assert client.post(f"/api/reports/{report['id']}/approve", headers=as_li).status_code == 200

    zh = client.get(url, headers=as_li).json()
    assert zh["hospital_name"] == "示例人民医院"
    assert (zh["patient_name"], zh["sex"], zh["age"]) == ("王小明 (Wang Xiaoming)", "男", "53岁")
    assert (zh["patient_id"], zh["accession"], zh["study_date"]) == (
        "MRN0042", "ACC-CR-1", "2024-01-15",
    )  # fmt: skip
    assert zh["signer"] == "李主任"
    assert zh["signed_at"]
    assert zh["key_id"]
    en = client.get(url, headers={**as_li, "Accept-Language": "en"}).json()
    assert (en["sex"], en["age"]) == ("Male", "53 y")

    nurse = login(client, make_user("nurse").username)
    assert client.get(url, headers=nurse).status_code == 200  # a signed report: readable
    assert _report_reads(report["id"], at_least=3) >= 3


def _report_reads(report_id: str, at_least: int) -> int:
    """The report's read rows. The app's sealer thread drains the audit journal too: a
    segment it took first shows up once its transaction commits, so look again (bounded)."""
    for _ in range(200):
        audit_service.flush_buffer()
        with transaction() as session:
            actions = session.scalars(
                select(AuditEvent.action).where(AuditEvent.resource_id == report_id)
            ).all()
        if actions.count("report.read") >= at_least:
            break
        time.sleep(0.05)
    return actions.count("report.read")


def test_a_name_written_only_in_chinese_is_shown_once(
    client: TestClient, doctors: list[Any]
) -> None:
    (_, as_wang), (li, _) = doctors
    uid = str(generate_uid())
    dataset = make_dataset(StudyInstanceUID=uid, PatientName="王^小明", PatientID="MRN0043")
    assert ingest(to_bytes(dataset), origin="test").status == "stored"
    assert flag(client, as_wang, uid, [li])["patient_name"] == "王小明"
