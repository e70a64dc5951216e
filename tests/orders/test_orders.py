"""Imaging orders over HTTP: create, list, the status lifecycle, matching and statistics."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.orders import service
from hounsfield.orders.models import Order
from hounsfield.worker import shutdown_local_pool
from hounsfield.worklist import service as worklist_service
from hounsfield.worklist.models import ReadStatus
from tests.conftest import login
from tests.worklist.test_worklist import store_study

BODY = {"procedure": "CT 胸部平扫", "modality": "ct", "body_part": "CHEST", "priority": "urgent",
        "clinical_question": "咳嗽两周，排除肺炎", "ordering_doctor": "李医生",
        "ordering_department": "呼吸内科", "patient_source": "inpatient",
        "scheduled_at": "2026-03-02T09:30:00+08:00", "station_ae": "CT1"}  # fmt: skip


def test_create_list_and_read(
    client: TestClient, auth_headers: Callable[..., dict[str, str]], make_record: Callable[..., Any]
) -> None:
    record = make_record()
    tech = auth_headers("technician")
    created = client.post("/api/orders", json={**BODY, "patient_id": record.id}, headers=tech)
    assert created.status_code == 201, created.text
    order = created.json()
    assert re.fullmatch(r"HF\d{6}\d{8}", order["accession_number"])
    assert order["accession_number"].endswith(f"{order['id']:08d}")
    assert (order["status"], order["modality"], order["priority"]) == ("scheduled", "CT", "urgent")
    assert order["patient_name"] == "张三丰 (Zhang^Sanfeng)"
    assert order["scheduled_at"].startswith("2026-03-02T01:30:00")  # stored in UTC
    assert order["study_instance_uid"] is None
    assert set(order) == {
        "id", "patient_id", "patient_name", "accession_number", "procedure", "modality",
        "body_part", "priority", "clinical_question", "ordering_doctor", "ordering_department",
        "patient_source", "scheduled_at", "station_ae", "status", "study_instance_uid",
        "created_at", "version",
    }  # fmt: skip

    doctor = auth_headers("doctor")
    assert client.get(f"/api/orders/{order['id']}", headers=doctor).json() == order
    wanted = {"status": "scheduled", "modality": "CT", "date_from": "2026-03-02",
              "date_to": "2026-03-02", "patient_id": record.id}  # fmt: skip
    listed = client.get("/api/orders", params=wanted, headers=doctor)
    assert listed.json() == {"total": 1, "items": [order]}
    # 2026-03-01 (Beijing) ends at 16:00 UTC: the 01:30 UTC order is on the 2nd.
    assert client.get("/api/orders", params={"date_to": "2026-03-01"},
                      headers=doctor).json()["total"] == 0  # fmt: skip

    missing = client.post("/api/orders", json={**BODY, "patient_id": record.id + 99},
                          headers=tech)  # fmt: skip
    assert (missing.status_code, missing.json()["error"]["code"]) == (422, "patient_not_found")
    naive = client.post("/api/orders", json={**BODY, "patient_id": record.id,
                                             "scheduled_at": "2026-03-02T09:30:00"},
                        headers=tech)  # fmt: skip
    assert naive.status_code == 422
    assert client.post("/api/orders", json={**BODY, "patient_id": record.id,
                                            "ordering_doctor": "a\x00b"},
                       headers=tech).status_code == 422  # fmt: skip
    assert client.get("/api/orders/999999", headers=doctor).status_code == 404

    audit_service.flush_buffer()
    with transaction() as session:
        actions = set(session.scalars(select(AuditEvent.action)))
    assert {"order.create", "order.read", "order.query"} <= actions


def test_status_lifecycle_refuses_illegal_moves(
    client: TestClient, auth_headers: Callable[..., dict[str, str]],
    make_record: Callable[..., Any], make_order: Callable[..., Any],
) -> None:  # fmt: skip
    order = make_order(make_record().id)
    tech = auth_headers("technician")

    def move(status: str, **headers: str) -> Any:
        return client.post(f"/api/orders/{order.id}/status", json={"status": status},
                           headers={**tech, **headers})  # fmt: skip

    refused = move("completed")
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "invalid_order_transition"
    assert refused.json()["error"]["details"] == {"from": "scheduled", "to": "completed"}
    assert "不能" in refused.json()["error"]["message"]
    assert move("completed", **{"Accept-Language": "en"}).json()["error"]["message"] == (
        "An order that is scheduled cannot become completed"
    )
    for status in ("arrived", "in_progress", "completed"):
        assert move(status).json()["status"] == status
    assert move("cancelled").status_code == 409  # a completed order stays completed


def test_arrival_matching_moves_the_order_and_drives_the_worklist(
    client: TestClient, make_record: Callable[..., Any], make_order: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    record = make_record(mrn="M42")
    by_accession = make_order(record.id, priority="stat", patient_source="emergency",
                              ordering_department="急诊科")  # fmt: skip
    by_patient = make_order(record.id, modality="MR", procedure="MR 头颅")
    other_day = make_order(record.id, modality="DX", procedure="胸片")

    first = store_study(AccessionNumber=by_accession.accession_number, PatientID="OTHER")
    # No accession number: the patient (MRN), a modality and the local date decide.
    second = store_study(AccessionNumber="", PatientID="M42", Modality="MR", StudyDate="20260302")
    third = store_study(AccessionNumber="", PatientID="M42", Modality="DX", StudyDate="20260303")
    shutdown_local_pool(wait=True)  # the matching tasks queued by the ingests have run

    with transaction() as session:
        orders = {o.id: o for o in session.scalars(select(Order))}
    assert orders[by_accession.id].study_instance_uid == first
    assert orders[by_accession.id].status == "arrived"
    assert orders[by_patient.id].study_instance_uid == second
    assert orders[other_day.id].study_instance_uid is None
    assert orders[other_day.id].status == "scheduled"

    doctor = make_user("doctor")
    headers = login(client, doctor.username)
    row = next(r for r in client.get("/api/worklist", headers=headers).json()["items"]
               if r["study_instance_uid"] == first)  # fmt: skip
    assert (row["priority"], row["source"], row["department"]) == ("stat", "emergency", "急诊科")
    stat_first = client.get("/api/worklist", params={"sort": "priority"}, headers=headers).json()
    assert stat_first["items"][0]["study_instance_uid"] == first
    assert client.get("/api/worklist", params={"source": "emergency"},
                      headers=headers).json()["total"] == 1  # fmt: skip

    # Reading moves the order on: claimed → in progress, final → completed.
    assert client.post(f"/api/worklist/{first}/claim", headers=headers).status_code == 200
    with transaction() as session:
        assert session.get(Order, by_accession.id).status == "in_progress"  # type: ignore[union-attr]
    with transaction(write=True) as session:
        worklist_service.set_read_status(session, first, ReadStatus.final, doctor)
    with transaction() as session:
        assert session.get(Order, by_accession.id).status == "completed"  # type: ignore[union-attr]

    unmatched = client.get("/api/orders/unmatched-studies", headers=headers).json()
    assert unmatched["total"] == 1
    assert unmatched["items"][0]["study_instance_uid"] == third
    assert unmatched["items"][0]["modalities"] == ["DX"]

    tech = login(client, make_user("technician").username)
    matched = client.post(f"/api/orders/{other_day.id}/match",
                          json={"study_instance_uid": third}, headers=tech)  # fmt: skip
    assert matched.status_code == 200, matched.text
    assert (matched.json()["status"], matched.json()["study_instance_uid"]) == ("arrived", third)
    again = client.post(f"/api/orders/{by_patient.id}/match",
                        json={"study_instance_uid": third}, headers=tech)  # fmt: skip
    assert again.status_code == 409
    assert client.get("/api/orders/unmatched-studies", headers=headers).json()["total"] == 0

    stats = client.get("/api/statistics", headers=headers).json()
    # Distinct patients per source: one patient, orders from the emergency room and clinic.
    assert stats["by_source"] == [{"source": "emergency", "count": 1},
                                  {"source": "outpatient", "count": 1}]  # fmt: skip


def test_a_second_matching_order_leaves_the_study_unmatched(
    make_record: Callable[..., Any], make_order: Callable[..., Any]
) -> None:
    """Patient + modality + date must name exactly one order; two candidates: a person
    decides (the study is listed as unmatched)."""
    record = make_record(mrn="M7")
    make_order(record.id)
    make_order(record.id, procedure="CT 腹部")
    uid = store_study(AccessionNumber="", PatientID="M7", Modality="CT", StudyDate="20260302")
    shutdown_local_pool(wait=True)
    with transaction(write=True) as session:
        assert service.match_arrival(session, uid) is None
        assert session.scalar(select(Order.id).where(Order.study_instance_uid == uid)) is None


def test_a_patient_merge_moves_orders_and_the_timeline_shows_them(
    make_record: Callable[..., Any], make_order: Callable[..., Any]
) -> None:
    from hounsfield.patients import merge as patients_merge
    from hounsfield.patients import service as patients_service

    source, target = make_record(mrn="OLD"), make_record(mrn="NEW")
    order = make_order(source.id)
    with transaction(write=True) as session:
        done = patients_merge.merge(session, None, source.id, target.id)
        assert session.get(Order, order.id).patient_id == target.id  # type: ignore[union-attr]
    with transaction() as session:
        entries = patients_service.timeline(session, None, target.id)
    assert [(e.kind, e.ref) for e in entries if e.kind == "order"] == [("order", str(order.id))]
    with transaction(write=True) as session:
        patients_merge.undo(session, None, done.id)
    with transaction() as session:
        assert session.get(Order, order.id).patient_id == source.id  # type: ignore[union-attr]


def test_an_edit_needs_the_version_read_and_reaches_the_worklist(
    client: TestClient, make_record: Callable[..., Any], make_order: Callable[..., Any],
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    record = make_record(mrn="E1")
    order = make_order(record.id)
    routine_first = store_study()
    study = store_study(AccessionNumber=order.accession_number, PatientID="E1")
    shutdown_local_pool(wait=True)  # matched: the order has its study
    clerk = login(client, make_user("technician").username)
    url = f"/api/orders/{order.id}"
    read = client.get(url, headers=clerk).json()
    assert read["version"] == 1

    edited = client.patch(url, json={"version": 1, "priority": "stat", "ordering_doctor": "王医生"},
                          headers=clerk)  # fmt: skip
    assert edited.status_code == 200, edited.text
    body = edited.json()
    assert (body["version"], body["priority"], body["ordering_doctor"]) == (2, "stat", "王医生")
    assert body["procedure"] == read["procedure"]  # a field not sent stays

    stale = client.patch(url, json={"version": 1, "priority": "routine"}, headers=clerk)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "order_version_conflict"
    assert stale.json()["error"]["details"]["current_version"] == 2
    assert "刷新" in stale.json()["error"]["message"]

    doctor = login(client, make_user("doctor").username)
    items = client.get("/api/worklist", headers=doctor).json()["items"]
    assert [r["study_instance_uid"] for r in items] == [study, routine_first]  # STAT first
    assert items[0]["priority"] == "stat"

    client.post(f"{url}/status", json={"status": "cancelled"}, headers=clerk)
    closed = client.patch(url, json={"version": 2, "procedure": "MR"}, headers=clerk)
    assert (closed.status_code, closed.json()["error"]["code"]) == (409, "order_closed")
    assert client.patch(url, json={"version": 2, "procedure": "\x00"},
                        headers=clerk).status_code == 422  # fmt: skip

    audit_service.flush_buffer()
    with transaction() as session:
        updates = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "order.update")
        ).all()
    assert [json.loads(e.detail)["fields"] for e in updates] == [["ordering_doctor", "priority"]]
    assert updates[0].resource_id == str(order.id)
    assert updates[0].patient_id == "E1"
