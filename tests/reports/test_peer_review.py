"""Peer review (RADPEER): sampling at approval (rate 1 and 0, never random in what is
asserted), who is eligible to review, the scoring rules, manual sampling and the privacy
of the results (report:qc only; the author never sees their scores)."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.reports import peer_review
from hounsfield.reports.models import PeerReview, Report
from hounsfield.users.models import Group, User
from hounsfield.users.permissions import BUILTIN_ROLES, Permission
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.reports.conftest import new_report

Headers = dict[str, str]


@pytest.fixture
def team(client: TestClient, make_user: Callable[..., Any]) -> dict[str, tuple[Any, Headers]]:
    """王 writes, 李 approves, 赵 may review, 周 heads the department (report:qc), a nurse."""
    people = {
        "wang": make_user("doctor", display_name="王医生"),
        "li": make_user("doctor", display_name="李医生"),
        "zhao": make_user("doctor", display_name="赵医生"),
        "head": make_user("department_head", display_name="周主任"),
        "nurse": make_user("nurse"),
    }
    return {key: (user, login(client, user.username)) for key, user in people.items()}


def signed_report(client: TestClient, team: dict[str, Any], study_uid: str) -> dict[str, Any]:
    """王's report, approved by 李."""
    report = new_report(client, team["wang"][1], study_uid)
    client.patch(f"/api/reports/{report['id']}",
                 json={"version": report["version"], "impression": "右肺上叶小结节。"},
                 headers=team["wang"][1])  # fmt: skip
    approved = client.post(f"/api/reports/{report['id']}/approve", headers=team["li"][1])
    assert approved.status_code == 200, approved.text
    return approved.json()  # type: ignore[no-any-return]


def reviews_of(report_id: str) -> list[PeerReview]:
    with transaction() as session:
        query = select(PeerReview).where(PeerReview.report_id == uuid.UUID(report_id))
        return list(session.scalars(query))


def other_study() -> str:
    uid = str(generate_uid())
    dataset = make_dataset(StudyInstanceUID=uid, Modality="CT")
    assert ingest(to_bytes(dataset), origin="test").status == "stored"
    return uid


def test_the_department_head_is_a_doctor_who_also_reviews_results() -> None:
    head = BUILTIN_ROLES["department_head"][1]
    assert head == BUILTIN_ROLES["doctor"][1] | {Permission.report_qc}
    assert Permission.report_qc not in BUILTIN_ROLES["doctor"][1]
    assert Permission.report_qc in BUILTIN_ROLES["admin"][1]


def test_the_roles_api_lists_the_department_head(
    client: TestClient, auth_headers: Callable[..., Headers]
) -> None:
    """Built-in roles reach the database at migrate (ensure_builtin_roles)."""
    roles = client.get("/api/roles", headers=auth_headers("admin"))
    assert roles.status_code == 200, roles.text
    head = next(r for r in roles.json() if r["name"] == "department_head")
    assert head["builtin"] is True
    assert set(head["permissions"]) == {p.value for p in BUILTIN_ROLES["department_head"][1]}


def test_at_rate_zero_no_report_is_sampled(
    client: TestClient, team: Any, study_uid: str, settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_REPORTS__PEER_REVIEW_RATE="0")
    report = signed_report(client, team, study_uid)
    assert reviews_of(report["id"]) == []
    queue = client.get("/api/peer-reviews", headers=team["zhao"][1]).json()
    assert queue == {"total": 0, "items": []}


def test_at_rate_one_every_approval_is_sampled_for_another_doctor(
    client: TestClient, team: Any, study_uid: str, settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_REPORTS__PEER_REVIEW_RATE="1")
    eligible = {team["zhao"][0].id, team["head"][0].id}
    for _ in range(6):
        report = signed_report(client, team, study_uid if _ == 0 else other_study())
        (review,) = reviews_of(report["id"])
        assert review.reviewer_id in eligible  # never the author (王) nor the approver (李)
        assert review.status == "pending"
        assert review.created_by is None
        assert review.assigned_at is not None
    audit_service.flush_buffer()
    with transaction() as session:
        created = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "peer_review.create")
        ).all()
    assert len(created) == 6
    assert all('"study_instance_uid"' in e.detail and e.actor_id is None for e in created)


def test_eligibility_excludes_author_approver_the_inactive_and_other_departments(
    client: TestClient, team: Any, make_user: Callable[..., Any]
) -> None:
    with transaction(write=True) as session:
        session.add_all([Group(name="cardio", department="CARDIOLOGY"),
                         Group(name="neuro", department="NEUROLOGY")])  # fmt: skip
    inside = make_user("doctor", groups=["cardio"])
    make_user("doctor", groups=["neuro"])  # cannot read a cardiology study
    gone = make_user("doctor")
    with transaction(write=True) as session:
        session.get(User, gone.id).active = False  # type: ignore[union-attr]
    make_user("technician")
    uid = str(generate_uid())
    dataset = make_dataset(StudyInstanceUID=uid, InstitutionalDepartmentName="CARDIOLOGY")
    assert ingest(to_bytes(dataset), origin="test").status == "stored"
    report = signed_report(client, team, uid)
    with transaction() as session:
        row = session.get(Report, uuid.UUID(report["id"]))
        assert row is not None
        found = set(peer_review.eligible_reviewers(session, row))
    assert found == {team["zhao"][0].id, team["head"][0].id, inside.id}


def test_with_nobody_eligible_the_review_waits_unassigned_for_report_qc(
    client: TestClient, make_user: Callable[..., Any], study_uid: str,
    settings_env: Callable[..., None],
) -> None:  # fmt: skip
    settings_env(HOUNSFIELD_REPORTS__PEER_REVIEW_RATE="1")
    wang, li = make_user("doctor"), make_user("doctor")
    team = {"wang": (wang, login(client, wang.username)), "li": (li, login(client, li.username))}
    report = signed_report(client, team, study_uid)
    (review,) = reviews_of(report["id"])
    assert review.reviewer_id is None
    assert review.assigned_at is None
    head = make_user("department_head")
    as_head = login(client, head.username)
    refused = client.post(f"/api/peer-reviews/{review.id}/assign",
                          json={"reviewer_id": str(wang.id)}, headers=as_head)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "ineligible_reviewer"
    assigned = client.post(f"/api/peer-reviews/{review.id}/assign",
                           json={"reviewer_id": str(head.id)}, headers=as_head)  # fmt: skip
    assert assigned.status_code == 200, assigned.text
    assert assigned.json()["status"] == "pending"
    assert assigned.json()["assigned_at"]
    queue = client.get("/api/peer-reviews", headers=as_head).json()
    assert [i["id"] for i in queue["items"]] == [str(review.id)]


def _assigned_to_zhao(client: TestClient, team: Any, study_uid: str) -> tuple[dict[str, Any], str]:
    """A signed report put up for review by the head, for 赵."""
    report = signed_report(client, team, study_uid)
    made = client.post("/api/peer-reviews",
                       json={"report_id": report["id"], "reviewer_id": str(team["zhao"][0].id)},
                       headers=team["head"][1])  # fmt: skip
    assert made.status_code == 201, made.text
    return report, made.json()["id"]


def test_the_reviewer_reads_the_report_and_scores_once_by_the_radpeer_rules(
    client: TestClient, team: Any, study_uid: str
) -> None:
    report, review_id = _assigned_to_zhao(client, team, study_uid)
    as_zhao = team["zhao"][1]
    queue = client.get("/api/peer-reviews", params={"status": "pending"}, headers=as_zhao).json()
    (item,) = queue["items"]
    assert item["report_id"] == report["id"]
    assert item["study_instance_uid"] == study_uid
    assert item["patient_name"] == "Doe^Jane"
    assert item["modality"] == "CT"
    assert item["study_date"] == "2024-01-15"
    assert item["status"] == "pending"
    detail = client.get(f"/api/peer-reviews/{review_id}", headers=as_zhao)
    assert detail.status_code == 200, detail.text
    assert detail.json()["report"]["impression"] == "右肺上叶小结节。"
    for key in ("wang", "li", "head"):  # only the reviewer opens it here
        assert client.get(f"/api/peer-reviews/{review_id}", headers=team[key][1]).status_code == 404

    url = f"/api/peer-reviews/{review_id}/score"
    invalid = [
        {"score": 1, "significance": "a"}, {"score": 2}, {"score": 3, "significance": None},
        {"score": 4}, {"score": 2, "significance": "c"}, {"score": 0},
        {"score": 1, "comment": "bad\x00"},
    ]  # fmt: skip
    for body in invalid:
        assert client.post(url, json=body, headers=as_zhao).status_code == 422, body
    other = client.post(url, json={"score": 1}, headers=team["head"][1])
    assert other.status_code == 403
    assert other.json()["error"]["code"] == "not_the_reviewer"
    assert "评议" in other.json()["error"]["message"]  # zh-CN by default
    assert client.post(url, json={"score": 1}, headers=team["nurse"][1]).status_code == 403

    scored = client.post(url, json={"score": 2, "significance": "b", "comment": "漏诊小结节"},
                         headers=as_zhao)  # fmt: skip
    assert scored.status_code == 200, scored.text
    assert scored.json()["status"] == "done"
    assert scored.json()["reviewed_at"]
    again = client.post(url, json={"score": 1}, headers=as_zhao)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "already_scored"
    assert client.get("/api/peer-reviews", params={"status": "pending"},
                      headers=as_zhao).json()["total"] == 0  # fmt: skip
    done = client.get("/api/peer-reviews", params={"status": "done"}, headers=as_zhao).json()
    assert [(i["score"], i["significance"]) for i in done["items"]] == [(2, "b")]

    audit_service.flush_buffer()
    with transaction() as session:
        actions = set(session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == review_id)
        ))  # fmt: skip
    assert {"peer_review.create", "peer_review.score"} <= actions


def test_results_are_for_report_qc_only_and_the_author_never_sees_a_score(
    client: TestClient, team: Any, study_uid: str
) -> None:
    report, review_id = _assigned_to_zhao(client, team, study_uid)
    client.post(f"/api/peer-reviews/{review_id}/score",
                json={"score": 3, "significance": "a", "comment": "诊断意见有误"},
                headers=team["zhao"][1])  # fmt: skip
    for key in ("wang", "li", "zhao", "nurse"):
        refused = client.get("/api/peer-reviews/results", headers=team[key][1])
        assert refused.status_code == 403, key
    as_wang = team["wang"][1]
    assert client.get("/api/peer-reviews", headers=as_wang).json()["items"] == []
    assert client.get(f"/api/peer-reviews/{review_id}", headers=as_wang).status_code == 404
    assert "诊断意见有误" not in client.get(f"/api/reports/{report['id']}", headers=as_wang).text

    results = client.get("/api/peer-reviews/results", headers=team["head"][1])
    assert results.status_code == 200, results.text
    body = results.json()
    by_score = {"1": 0, "2a": 0, "2b": 0, "3a": 1, "3b": 0}
    assert body["summary"] == {"total": 1, "done": 1, "by_score": by_score}
    (row,) = body["items"]
    assert row["author"]["display_name"] == "王医生"
    assert row["approver"]["display_name"] == "李医生"
    assert row["reviewer"]["display_name"] == "赵医生"
    assert (row["score"], row["significance"], row["comment"]) == (3, "a", "诊断意见有误")
    assert row["sampled"] is False
    assert row["created_by"] == str(team["head"][0].id)
    later = client.get("/api/peer-reviews/results", params={"from": "2999-01-01T00:00:00Z"},
                       headers=team["head"][1]).json()  # fmt: skip
    assert later["total"] == 0
    assert later["items"] == []
    earlier = client.get("/api/peer-reviews/results", params={"to": "2000-01-01T00:00:00Z"},
                         headers=team["head"][1]).json()  # fmt: skip
    assert earlier["summary"]["total"] == 0


def test_manual_sampling_takes_signed_reports_one_open_review_at_a_time(
    client: TestClient, team: Any, study_uid: str
) -> None:
    as_head = team["head"][1]
    draft = new_report(client, team["wang"][1], other_study())
    refused = client.post("/api/peer-reviews", json={"report_id": draft["id"]}, headers=as_head)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "report_not_signed"
    report = signed_report(client, team, study_uid)
    for who in ("wang", "li", "nurse"):  # the author, the approver, no report:approve
        body = {"report_id": report["id"], "reviewer_id": str(team[who][0].id)}
        ineligible = client.post("/api/peer-reviews", json=body, headers=as_head)
        assert ineligible.status_code == 422, who
    not_qc = client.post("/api/peer-reviews", json={"report_id": report["id"]},
                         headers=team["zhao"][1])  # fmt: skip
    assert not_qc.status_code == 403
    drawn = client.post("/api/peer-reviews", json={"report_id": report["id"]}, headers=as_head)
    assert drawn.status_code == 201, drawn.text
    (review,) = reviews_of(report["id"])
    assert review.reviewer_id in {team["zhao"][0].id, team["head"][0].id}
    second = client.post("/api/peer-reviews", json={"report_id": report["id"]}, headers=as_head)
    assert second.status_code == 409
    assert second.json()["error"]["code"] == "peer_review_open"
    reviewer = next(h for u, h in team.values() if u.id == review.reviewer_id)
    scored = client.post(f"/api/peer-reviews/{review.id}/score", json={"score": 1},
                         headers=reviewer)  # fmt: skip
    assert scored.status_code == 200, scored.text
    again = client.post("/api/peer-reviews", json={"report_id": report["id"]}, headers=as_head)
    assert again.status_code == 201  # the first review is done: a new one may open
    assert len(reviews_of(report["id"])) == 2


def test_a_scoped_head_of_department_sees_the_reviews_of_their_department_only(
    client: TestClient, team: Any, make_user: Callable[..., Any], study_uid: str
) -> None:
    with transaction(write=True) as session:
        session.add(Group(name="cardio", department="CARDIOLOGY"))
    scoped = login(client, make_user("department_head", groups=["cardio"]).username)
    _report, review_id = _assigned_to_zhao(client, team, study_uid)  # a study of no department
    assert client.get("/api/peer-reviews/results", headers=scoped).json()["total"] == 0
    body = {"reviewer_id": str(team["zhao"][0].id)}
    reassigned = client.post(f"/api/peer-reviews/{review_id}/assign", json=body, headers=scoped)
    assert reassigned.status_code == 404
    assert client.get("/api/peer-reviews/results", headers=team["head"][1]).json()["total"] == 1
