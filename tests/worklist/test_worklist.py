"""The reading worklist: claims (one reader at a time, expiry), assignment, filters and
counts, and set_read_status (the one place statuses change) with its turnaround times."""

from __future__ import annotations

from collections.abc import Callable
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import select, update

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import get_engine, transaction, utcnow
from hounsfield.ingest.service import ingest
from hounsfield.orders.models import Order
from hounsfield.patients.models import PatientRecord
from hounsfield.studies.models import Study
from hounsfield.worklist import service
from hounsfield.worklist.models import Reading, ReadStatus
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes


def store_study(**attributes: Any) -> str:
    """Ingest a one-instance study; its StudyInstanceUID."""
    uid = attributes.pop("StudyInstanceUID", None) or str(generate_uid())
    outcome = ingest(to_bytes(make_dataset(StudyInstanceUID=uid, **attributes)), origin="test")
    assert outcome.status == "stored", outcome
    return uid


@pytest.fixture
def doctors(client: TestClient, make_user: Callable[..., Any]) -> list[tuple[Any, dict[str, str]]]:
    """Two doctors (王医生 and Dr Li), each with login headers."""
    wang = make_user("doctor", display_name="王医生")
    li = make_user("doctor", display_name="Dr Li")
    return [(wang, login(client, wang.username)), (li, login(client, li.username))]


def test_one_reader_at_a_time(client: TestClient, doctors: list[Any]) -> None:
    (wang, as_wang), (li, as_li) = doctors
    uid = store_study(AccessionNumber="WL1")

    first = client.post(f"/api/worklist/{uid}/claim", headers=as_wang)
    assert first.status_code == 200, first.text
    assert first.json()["read_status"] == "in_reading"
    assert first.json()["claimed_by"] == {"id": str(wang.id), "name": "王医生"}

    refused = client.post(f"/api/worklist/{uid}/claim", headers=as_li)
    assert refused.status_code == 409
    error = refused.json()["error"]
    assert error["code"] == "claimed_by_other"
    assert error["details"]["claimed_by"]["name"] == "王医生"
    assert "王医生" in error["message"]
    assert "阅片" in error["message"]
    english = client.post(f"/api/worklist/{uid}/claim", headers={**as_li, "Accept-Language": "en"})
    assert english.json()["error"]["message"] == "王医生 is reading this study"

    # Wang releases, then Li claims (releasing another's claim: the next test).
    released = client.delete(f"/api/worklist/{uid}/claim", headers=as_wang)
    assert released.status_code == 200
    assert released.json()["claimed_by"] is None
    assert released.json()["read_status"] == "unread"
    taken = client.post(f"/api/worklist/{uid}/claim", headers=as_li)
    assert taken.status_code == 200
    assert taken.json()["claimed_by"]["id"] == str(li.id)

    audit_service.flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == uid)
        ).all()
    assert actions.count("worklist.claim") == 2
    assert "worklist.release" in actions


def test_an_expired_claim_is_no_claim(client: TestClient, doctors: list[Any]) -> None:
    (_wang, as_wang), (li, as_li) = doctors
    uid = store_study()
    assert client.post(f"/api/worklist/{uid}/claim", headers=as_wang).status_code == 200
    with transaction(write=True) as session:  # the claim ran out (30 minutes later)
        past = utcnow() - timedelta(seconds=1)
        session.execute(update(Reading).values(claim_expires_at=past))
        session.execute(update(Study).values(read_claim_until=past))  # the worklist's copy

    row = client.get("/api/worklist", headers=as_li).json()["items"][0]
    assert (row["read_status"], row["claimed_by"]) == ("unread", None)
    taken = client.post(f"/api/worklist/{uid}/claim", headers=as_li)
    assert taken.status_code == 200
    assert taken.json()["claimed_by"]["id"] == str(li.id)
    assert taken.json()["read_status"] == "in_reading"


def test_a_claim_lasts_the_configured_minutes(
    client: TestClient, doctors: list[Any], settings_env: Callable[..., None]
) -> None:
    settings_env(HOUNSFIELD_WORKLIST__CLAIM_MINUTES="7")
    (_wang, as_wang), _ = doctors
    uid = store_study()
    before = utcnow()
    client.post(f"/api/worklist/{uid}/claim", headers=as_wang)
    with transaction() as session:
        expires = session.scalar(select(Reading.claim_expires_at))
    assert expires is not None
    assert timedelta(minutes=7) <= expires - before < timedelta(minutes=8)


def test_only_the_holder_or_an_assigner_releases(
    client: TestClient, doctors: list[Any], make_user: Callable[..., Any]
) -> None:
    from hounsfield.users import service as users_service
    from hounsfield.users.schemas import RoleCreate

    (_wang, as_wang), _ = doctors
    with transaction(write=True) as session:
        users_service.create_role(
            session, None,
            RoleCreate(name="reader", permissions=["order:read", "report:write"]),
        )  # fmt: skip
    reader = make_user("reader")
    as_reader = login(client, reader.username)
    uid = store_study()
    client.post(f"/api/worklist/{uid}/claim", headers=as_wang)

    refused = client.delete(f"/api/worklist/{uid}/claim", headers=as_reader)
    assert refused.status_code == 403
    assert refused.json()["error"]["code"] == "not_claim_holder"
    assert client.post(f"/api/worklist/{uid}/claim", headers=as_reader).status_code == 409


def test_assignment(client: TestClient, doctors: list[Any], make_user: Callable[..., Any]) -> None:
    (wang, as_wang), (li, _as_li) = doctors
    nurse = make_user("nurse")
    uid = store_study()
    other = store_study()

    refused = client.post(f"/api/worklist/{uid}/assign", json={"user_id": str(nurse.id)},
                          headers=as_wang)  # fmt: skip
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "assignee_invalid"
    done = client.post(f"/api/worklist/{uid}/assign", json={"user_id": str(li.id)},
                       headers=as_wang)  # fmt: skip
    assert done.status_code == 200
    assert done.json()["assigned_to"] == {"id": str(li.id), "name": "Dr Li"}

    mine = client.get("/api/worklist", params={"assigned_to": str(li.id)}, headers=as_wang)
    assert [r["study_instance_uid"] for r in mine.json()["items"]] == [uid]
    assert mine.json()["items"][0]["assigned_to"]["name"] == "Dr Li"
    everything = client.get("/api/worklist", headers=as_wang).json()
    assert {r["study_instance_uid"] for r in everything["items"]} == {uid, other}

    cleared = client.post(f"/api/worklist/{uid}/assign", json={"user_id": None}, headers=as_wang)
    assert cleared.json()["assigned_to"] is None
    assert wang.id != li.id


def test_filters_counts_and_rows(client: TestClient, doctors: list[Any]) -> None:
    (wang, as_wang), _ = doctors
    mr = store_study(Modality="MR", BodyPartExamined="HEAD", AccessionNumber="AB100",
                     StudyDate="20240301", PatientName="Zhang^Wei=张^伟", PatientID="Z1",
                     PatientBirthDate="19650301", PatientSex="M",
                     InstitutionalDepartmentName="神经内科")  # fmt: skip
    ct = store_study(Modality="CT", AccessionNumber="AB200", StudyDate="20240115")
    done = store_study(Modality="CT", AccessionNumber="XY300", StudyDate="20240116")
    with transaction(write=True) as session:
        service.set_read_status(session, done, ReadStatus.final, wang)

    page = client.get("/api/worklist", headers=as_wang).json()
    assert page["total"] == 3
    assert page["counts"] == {"unread": 2, "in_reading": 0, "preliminary": 0, "final": 1}

    unread = client.get("/api/worklist", params={"status": "unread"}, headers=as_wang).json()
    assert unread["total"] == 2
    assert unread["counts"]["final"] == 1  # the tabs keep every status's count
    assert {r["study_instance_uid"] for r in unread["items"]} == {mr, ct}

    def uids(**params: str) -> set[str]:
        found = client.get("/api/worklist", params=params, headers=as_wang).json()
        assert found["total"] == len(found["items"])
        return {r["study_instance_uid"] for r in found["items"]}

    assert uids(modality="MR") == {mr}
    assert uids(body_part="head") == {mr}
    assert uids(accession="AB") == {mr, ct}
    assert uids(date_from="2024-01-16", date_to="2024-03-01") == {mr, done}
    assert uids(department="神经内科") == {mr}
    assert uids(q="张伟") == {mr}
    assert uids(priority="routine") == {mr, ct, done}
    assert uids(priority="stat") == set()

    row = next(r for r in page["items"] if r["study_instance_uid"] == mr)
    assert row["patient_name"] == "Zhang^Wei=张^伟"
    assert (row["sex"], row["birth_date"], row["age"]) == ("M", "1965-03-01", "059Y")
    assert (row["modalities"], row["body_part"], row["priority"]) == (["MR"], "HEAD", "routine")
    assert (row["read_status"], row["source"], row["department"]) == ("unread", None, "神经内科")
    assert row["number_of_instances"] == 1


def test_set_read_status_records_turnaround_and_refuses_illegal_moves(
    doctors: list[Any],
) -> None:
    (wang, _), (li, _) = doctors
    uid = store_study()
    with transaction(write=True) as session:
        reading = service.set_read_status(session, uid, ReadStatus.preliminary, wang)
        first_preliminary = reading.preliminary_at
        assert reading.reported_by_id == wang.id
    with transaction(write=True) as session:
        reading = service.set_read_status(session, uid, ReadStatus.final, li)
        assert reading.final_by_id == li.id
        assert reading.reported_by_id == wang.id  # the reader, not the approver
    with transaction() as session:
        reading = session.scalars(select(Reading)).one()
        received = session.scalar(select(Study.received_at))
        assert received is not None
        assert first_preliminary is not None
        assert reading.status == "final"
        assert received <= first_preliminary <= reading.final_at  # type: ignore[operator]

    for target in (ReadStatus.unread, ReadStatus.in_reading):
        with pytest.raises(service.InvalidReadTransition), transaction(write=True) as session:
            service.set_read_status(session, uid, target, wang)
    with transaction(write=True) as session:  # an amendment reopens; the times stay
        service.set_read_status(session, uid, ReadStatus.preliminary, li)
    with transaction() as session:
        reading = session.scalars(select(Reading)).one()
        assert reading.status == "preliminary"
        assert reading.preliminary_at == first_preliminary
    with pytest.raises(service.StudyNotFound), transaction(write=True) as session:
        service.set_read_status(session, "1.2.3.4", ReadStatus.final, wang)


def _copies(uid: str) -> tuple[str, bool, int]:
    """The worklist's copy on the study: read stage, whether a claim is copied, priority."""
    with transaction() as session:
        study = session.scalars(select(Study).where(Study.study_instance_uid == uid)).one()
        return study.read_stage, study.read_claim_until is not None, study.priority_rank


def test_the_study_row_follows_every_read_status_change(
    client: TestClient, doctors: list[Any]
) -> None:
    (wang, as_wang), _ = doctors
    uid = store_study()
    assert _copies(uid) == ("open", False, 2)  # as ingest leaves it: unread, routine
    client.post(f"/api/worklist/{uid}/claim", headers=as_wang)
    assert _copies(uid) == ("open", True, 2)
    client.delete(f"/api/worklist/{uid}/claim", headers=as_wang)
    assert _copies(uid) == ("open", False, 2)
    client.post(f"/api/worklist/{uid}/claim", headers=as_wang)
    with transaction(write=True) as session:
        service.set_read_status(session, uid, ReadStatus.preliminary, wang)
    assert _copies(uid) == ("preliminary", False, 2)
    with transaction(write=True) as session:
        service.set_read_status(session, uid, ReadStatus.final, wang)
    assert _copies(uid) == ("final", False, 2)
    page = client.get("/api/worklist", params={"status": "final"}, headers=as_wang).json()
    assert [r["study_instance_uid"] for r in page["items"]] == [uid]


def test_modality_filters_match_plain_values_and_wildcards(
    client: TestClient, doctors: list[Any]
) -> None:
    _, (_li, as_li) = doctors
    ct = store_study(Modality="CT")
    store_study(Modality="MR")
    store_study(Modality="SC")

    def found(modality: str) -> list[str]:
        page = client.get("/api/worklist", params={"modality": modality}, headers=as_li).json()
        assert page["total"] == sum(page["counts"].values()) == len(page["items"])
        return [r["study_instance_uid"] for r in page["items"]]

    assert found("CT") == [ct]
    assert found("C*") == [ct]  # DICOM wildcards match the series
    assert found("T") == []  # a whole value, never part of one
    assert found("%") == []


def test_the_migration_copies_readings_and_priorities_onto_studies(
    client: TestClient, doctors: list[Any]
) -> None:
    from importlib import import_module

    migration = import_module("hounsfield.migrations.versions.0020_worklist_columns")
    (wang, as_wang), _ = doctors
    claimed, done, stat = store_study(), store_study(), store_study()
    client.post(f"/api/worklist/{claimed}/claim", headers=as_wang)
    with transaction(write=True) as session:
        service.set_read_status(session, done, ReadStatus.final, wang)
        session.execute(update(Study).where(Study.study_instance_uid == stat)
                        .values(priority_rank=0))  # fmt: skip
    expected = {uid: _copies(uid) for uid in (claimed, done, stat)}
    with get_engine().begin() as conn:  # as the rows were before 0020
        conn.execute(update(Study).values(read_stage="open", read_claim_until=None,
                                          priority_rank=2))  # fmt: skip
        conn.execute(sa.insert(Order).values(
            patient_id=_record_id(conn), accession_number="HF1", procedure="CT",
            modality="CT", body_part="", priority="stat", clinical_question="",
            ordering_doctor="", ordering_department="", patient_source="outpatient",
            scheduled_at=utcnow(), station_ae="", status="arrived",
            study_instance_uid=stat, created_at=utcnow(), updated_at=utcnow(),
        ))  # fmt: skip
        migration.backfill(conn)
    assert {uid: _copies(uid) for uid in expected} == expected
    assert expected[claimed] == ("open", True, 2)
    assert expected[done] == ("final", False, 2)
    assert expected[stat] == ("open", False, 0)


def _record_id(conn: sa.Connection) -> int:
    """A patient record for an order to name."""
    return int(conn.execute(sa.insert(PatientRecord).values(
        mrn="MIG1", issuer="", created_at=utcnow(), updated_at=utcnow(), version=1,
    )).inserted_primary_key[0])  # fmt: skip
