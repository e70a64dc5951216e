"""The report workflow: draft → preliminary → final (signed) → appended / corrected, every
transition allowed and refused, the second-reader rule, versions and their diff, and the
worklist status that follows."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.studies.models import Study
from hounsfield.worklist.models import Reading
from tests.reports.conftest import new_report


def read_status(study_uid: str) -> str | None:
    with transaction() as session:
        return session.scalar(
            select(Reading.status)
            .join(Study, Study.id == Reading.study_pk)
            .where(Study.study_instance_uid == study_uid)
        )


def chest_ct_template(client: TestClient, headers: dict[str, str]) -> dict[str, Any]:
    templates = client.get(
        "/api/report-templates", params={"modality": "CT", "language": "zh-CN"}, headers=headers
    ).json()
    return next(t for t in templates if t["code"] == "chest-ct")


def test_a_report_from_draft_to_signed_and_amended(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (wang, as_wang), (li, as_li) = doctors
    template = chest_ct_template(client, as_wang)
    report = new_report(client, as_wang, study_uid, template_id=template["id"])
    assert report["status"] == "draft"
    assert report["fhir_status"] == "registered"
    assert report["findings"] == template["sections"]["findings"]  # the template's text
    assert report["author_id"] == str(wang.id)

    saved = client.patch(
        f"/api/reports/{report['id']}",
        json={"version": report["version"], "impression": "右肺上叶磨玻璃结节，约6mm。",
              "structured": {"nodule_mm": 6, "lung_rads": "3"},
              "key_images": [{"sop_instance_uid": "1.2.3", "frame": 1,
                              "window_center": -600, "window_width": 1500}]},
        headers=as_wang,
    )  # fmt: skip
    assert saved.status_code == 200, saved.text
    assert saved.json()["impression"] == "右肺上叶磨玻璃结节，约6mm。"

    submitted = client.post(f"/api/reports/{report['id']}/submit", headers=as_wang)
    assert submitted.status_code == 200, submitted.text
    assert submitted.json()["status"] == "preliminary"
    assert read_status(study_uid) == "preliminary"

    approved = client.post(f"/api/reports/{report['id']}/approve", headers=as_li)
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "final"
    assert approved.json()["approver_id"] == str(li.id)
    assert read_status(study_uid) == "final"
    verified = client.get(f"/api/reports/{report['id']}/verify", headers=as_wang).json()
    assert verified["valid"] is True
    assert verified["signer_id"] == str(li.id)

    amended = client.post(
        f"/api/reports/{report['id']}/amend",
        json={"kind": "addendum", "reason": "补充随访建议", "addendum": "建议3个月后复查胸部CT。"},
        headers=as_li,
    )
    assert amended.status_code == 200, amended.text
    assert amended.json()["status"] == "appended"
    assert amended.json()["fhir_status"] == "appended"
    assert client.get(f"/api/reports/{report['id']}/verify", headers=as_li).json()["valid"]

    corrected = client.post(
        f"/api/reports/{report['id']}/amend",
        json={"kind": "correction", "reason": "结节位置更正", "impression": "左肺上叶磨玻璃结节。"},
        headers=as_li,
    )
    assert corrected.json()["status"] == "corrected"

    versions = client.get(
        f"/api/reports/{report['id']}/versions",
        params={"diff_from": 5, "diff_to": 6},
        headers=as_wang,
    ).json()
    numbers = [(v["number"], v["status"], v["signed"]) for v in versions["items"]]
    assert numbers == [
        (1, "draft", False), (2, "draft", False), (3, "preliminary", False),
        (4, "final", True), (5, "appended", True), (6, "corrected", True),
    ]  # fmt: skip
    assert versions["items"][4]["reason"] == "补充随访建议"
    assert "-右肺上叶磨玻璃结节，约6mm。" in versions["diff"]["impression"]
    assert "+左肺上叶磨玻璃结节。" in versions["diff"]["impression"]
    assert "findings" not in versions["diff"]  # unchanged sections are left out

    audit_service.flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == report["id"])
        ).all()
    for action in ("report.create", "report.update", "report.submit", "report.approve",
                   "report.amend"):  # fmt: skip
        assert action in actions, action


def test_refused_transitions(
    client: TestClient, doctors: list[Any], study_uid: str, auth_headers: Any
) -> None:
    (_wang, as_wang), (_li, as_li) = doctors
    report = new_report(client, as_wang, study_uid)
    rid = report["id"]

    # Only the author edits and submits a draft.
    other = client.patch(f"/api/reports/{rid}", json={"version": 1, "findings": "x"}, headers=as_li)
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_author"
    assert client.post(f"/api/reports/{rid}/submit", headers=as_li).status_code == 403
    # An addendum needs a signed report.
    early = client.post(f"/api/reports/{rid}/amend", headers=as_li,
                        json={"kind": "addendum", "reason": "r", "addendum": "a"})  # fmt: skip
    assert early.status_code == 409
    assert early.json()["error"]["code"] == "invalid_transition"
    assert early.json()["error"]["message"] == "草稿状态的报告不能修订"
    english = client.post(f"/api/reports/{rid}/amend", json={"kind": "addendum", "reason": "r"},
                          headers={**as_li, "Accept-Language": "en"})  # fmt: skip
    assert english.json()["error"]["message"] == "A report that is draft cannot be amended"
    # A stale version is a conflict, not an overwrite.
    assert client.patch(f"/api/reports/{rid}", json={"version": 1, "findings": "a"},
                        headers=as_wang).status_code == 200  # fmt: skip
    stale = client.patch(f"/api/reports/{rid}", json={"version": 1, "findings": "b"},
                         headers=as_wang)  # fmt: skip
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"

    # A nurse may not approve; a technician may not write.
    nurse = auth_headers("nurse")
    assert client.post(f"/api/reports/{rid}/approve", headers=nurse).status_code == 403
    tech = auth_headers("technician")
    refused = client.post("/api/reports", json={"study_instance_uid": study_uid}, headers=tech)
    assert refused.status_code == 403

    assert client.post(f"/api/reports/{rid}/submit", headers=as_wang).status_code == 200
    assert client.post(f"/api/reports/{rid}/submit", headers=as_wang).status_code == 409
    assert client.post(f"/api/reports/{rid}/approve", headers=as_li).status_code == 200
    # A signed report is never edited in place.
    final = client.get(f"/api/reports/{rid}", headers=as_wang).json()
    edit = client.patch(f"/api/reports/{rid}", json={"version": final["version"], "findings": "z"},
                        headers=as_li)  # fmt: skip
    assert edit.status_code == 409
    assert edit.json()["error"]["code"] == "report_not_editable"
    assert client.post(f"/api/reports/{rid}/approve", headers=as_li).status_code == 409
    cancel = client.post(f"/api/reports/{rid}/cancel", json={"reason": "x"}, headers=as_wang)
    assert cancel.status_code == 409


def test_the_second_reader_rule(
    client: TestClient, doctors: list[Any], study_uid: str, settings_env: Any
) -> None:
    (_wang, as_wang), (_li, as_li) = doctors
    report = new_report(client, as_wang, study_uid)
    assert client.post(f"/api/reports/{report['id']}/submit", headers=as_wang).status_code == 200

    settings_env(HOUNSFIELD_REPORTS__REQUIRE_SECOND_READER="true")
    own = client.post(f"/api/reports/{report['id']}/approve", headers=as_wang)
    assert own.status_code == 403
    assert own.json()["error"]["code"] == "second_reader_required"
    assert client.post(f"/api/reports/{report['id']}/approve", headers=as_li).status_code == 200


def test_without_the_rule_the_author_may_sign(
    client: TestClient, doctors: list[Any], study_uid: str
) -> None:
    (_wang, as_wang), _ = doctors
    report = new_report(client, as_wang, study_uid)
    signed = client.post(f"/api/reports/{report['id']}/approve", headers=as_wang)
    assert signed.status_code == 200
    assert signed.json()["status"] == "final"


def test_a_nurse_reads_signed_reports_only(
    client: TestClient, doctors: list[Any], study_uid: str, auth_headers: Any
) -> None:
    (_wang, as_wang), (_li, as_li) = doctors
    draft = new_report(client, as_wang, study_uid)
    signed = new_report(client, as_wang, study_uid)
    assert client.post(f"/api/reports/{signed['id']}/approve", headers=as_li).status_code == 200
    nurse = auth_headers("nurse")
    listed = client.get("/api/reports", params={"study_instance_uid": study_uid}, headers=nurse)
    assert [r["id"] for r in listed.json()["items"]] == [signed["id"]]
    assert client.get(f"/api/reports/{draft['id']}", headers=nurse).status_code == 404
    assert client.get(f"/api/reports/{signed['id']}", headers=nurse).status_code == 200
    audit_service.flush_buffer()
    with transaction() as session:
        reads = session.scalars(
            select(AuditEvent.action).where(
                AuditEvent.resource_id == signed["id"], AuditEvent.action == "report.read"
            )
        ).all()
    assert len(reads) == 1  # the read of a signed report is audited, once
    doctor = client.get("/api/reports", params={"study_instance_uid": study_uid}, headers=as_wang)
    assert doctor.json()["total"] == 2


def test_the_starter_templates(client: TestClient, auth_headers: Any) -> None:
    doctor = auth_headers("doctor")
    templates = client.get("/api/report-templates", headers=doctor).json()
    codes = {(t["code"], t["language"]) for t in templates}
    for code in ("chest-xr", "chest-ct", "head-ct", "brain-mr", "abdomen-ct", "abdomen-us",
                 "lumbar-mr", "mammography"):  # fmt: skip
        assert {(code, "zh-CN"), (code, "en")} <= codes
    assert all(t["builtin"] for t in templates)
    mammo = next(t for t in templates if t["code"] == "mammography" and t["language"] == "zh-CN")
    assert mammo["fields"][0]["options"][:3] == ["0", "1", "2"]  # BI-RADS

    body = {"code": "knee-mr", "language": "zh-CN", "name": "膝关节MR", "modality": "MR",
            "body_part": "KNEE", "sections": {"findings": "半月板形态信号正常。"}}  # fmt: skip
    assert client.post("/api/report-templates", json=body,
                       headers=auth_headers("nurse")).status_code == 403  # fmt: skip
    created = client.post("/api/report-templates", json=body, headers=doctor)
    again = client.post("/api/report-templates", json=body, headers=doctor)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "template_exists"
    builtin = {**body, "code": "chest-ct"}
    assert client.post("/api/report-templates", json=builtin, headers=doctor).status_code == 409
    assert created.status_code == 201
    assert created.json()["builtin"] is False
