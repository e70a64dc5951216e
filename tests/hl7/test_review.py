"""Review of the HL7 messages received: /api/hl7/messages (hl7:read), newest first,
filtered and paged, without patient data; one message segment by segment, its read
audited; a refused message reprocessed once its cause is fixed, applied once."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import timedelta

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer, sealer
from hounsfield.db import transaction, utcnow
from hounsfield.hl7 import service
from hounsfield.hl7.models import Hl7Message
from hounsfield.patients.models import PatientRecord

Headers = Callable[..., dict[str, str]]


def msh(kind: str, control_id: str, sender: str = "HIS") -> str:
    return f"MSH|^~\\&|{sender}|HOSP|HOUNSFIELD|RAD|20260302090000||{kind}|{control_id}|P|2.5"


def pid(mrn: str) -> str:
    return f"PID|1||{mrn}^^^HOSP^MR||王^小明~Wang^Xiaoming||19900307|M"


def adt(control_id: str, mrn: str = "MRN-R1", sender: str = "HIS") -> str:
    return "\r".join([msh("ADT^A04^ADT_A01", control_id, sender), "EVN|A04", pid(mrn), "PV1|1|O"])


def merge(control_id: str, into: str, prior: str) -> str:
    return "\r".join(
        [msh("ADT^A40^ADT_A39", control_id), "EVN|A40", pid(into), f"MRG|{prior}^^^HOSP^MR"]
    )


@pytest.fixture
def received() -> list[int]:
    """AA (ADT from HIS), AE (merge of an unknown patient), AR (not HL7), AA (ADT from LIS):
    their ids, oldest first."""
    for text in (
        adt("C1"),
        merge("C2", "MRN-R1", "MRN-GONE"),
        "not HL7\r",
        adt("C3", "MRN-R3", "LIS"),
    ):
        service.receive(text, "127.0.0.1")
    with transaction() as session:
        return list(session.scalars(sa.select(Hl7Message.id).order_by(Hl7Message.id)))


def test_a_doctor_is_refused(
    client: TestClient, auth_headers: Headers, received: list[int]
) -> None:
    doctor = auth_headers("doctor")
    for path in ("/api/hl7/messages", f"/api/hl7/messages/{received[0]}"):
        response = client.get(path, headers=doctor)
        assert response.status_code == 403, path
        assert response.json()["error"]["details"] == {"permission": "hl7:read"}
    assert (
        client.post(f"/api/hl7/messages/{received[1]}/reprocess", headers=doctor).status_code == 403
    )


def test_list_is_newest_first_paged_filtered_without_patient_data(
    client: TestClient, auth_headers: Headers, received: list[int]
) -> None:
    admin = auth_headers("admin")
    page = client.get("/api/hl7/messages", headers=admin).json()
    assert page["total"] == 4
    assert [m["id"] for m in page["items"]] == received[::-1]
    assert [m["ack_code"] for m in page["items"]] == ["AA", "AR", "AE", "AA"]
    refused = page["items"][2]
    assert (refused["control_id"], refused["message_type"]) == ("C2", "ADT^A40")
    assert (refused["reason_code"], refused["reason"]) == (
        "unknown_prior_patient",
        "被合并的患者不存在（MRG-1）",
    )
    text = json.dumps(page, ensure_ascii=False)
    assert "王" not in text
    assert "Wang" not in text
    assert "raw" not in page["items"][0]

    def ids(**params: object) -> list[int]:
        response = client.get("/api/hl7/messages", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return [m["id"] for m in response.json()["items"]]

    assert ids(limit=2) == received[:1:-1]
    assert ids(limit=2, offset=2) == received[1::-1]
    assert ids(ack_code="AE") == [received[1]]
    assert ids(ack_code="AA") == [received[3], received[0]]
    assert ids(message_type="ADT^A04") == [received[3], received[0]]
    assert ids(message_type="ADT") == [received[3], received[1], received[0]]
    assert ids(message_type="AD%") == []  # a prefix, not a pattern
    assert ids(sending_application="LIS") == [received[3]]
    assert ids(control_id="C1") == [received[0]]
    now = utcnow()
    assert (
        ids(since=(now - timedelta(minutes=5)).isoformat(), until=now.isoformat()) == received[::-1]
    )
    assert ids(since=now.isoformat()) == []
    assert (
        client.get("/api/hl7/messages", params={"ack_code": "XX"}, headers=admin).status_code == 422
    )


def test_detail_shows_segments_and_its_read_is_audited(
    client: TestClient, auth_headers: Headers, received: list[int]
) -> None:
    admin = auth_headers("admin")
    response = client.get(f"/api/hl7/messages/{received[1]}", headers=admin)
    assert response.status_code == 200, response.text
    detail = response.json()
    assert detail["raw"] == merge("C2", "MRN-R1", "MRN-GONE")
    assert [s["name"] for s in detail["segments"]] == ["MSH", "EVN", "PID", "MRG"]
    msh_fields = detail["segments"][0]["fields"]
    assert (msh_fields[0], msh_fields[1], msh_fields[8], msh_fields[9]) == (
        "|",
        "^~\\&",
        "ADT^A40^ADT_A39",
        "C2",
    )
    assert detail["segments"][2]["fields"][2] == "MRN-R1^^^HOSP^MR"  # PID-3
    assert detail["reprocessable"] is True
    assert (
        client.get(f"/api/hl7/messages/{received[0]}", headers=admin).json()["reprocessable"]
        is False
    )
    garbage = client.get(f"/api/hl7/messages/{received[2]}", headers=admin).json()
    assert [s["name"] for s in garbage["segments"]] == ["not HL7"]
    assert client.get("/api/hl7/messages/999999", headers=admin).status_code == 404

    sealer.stop()  # a drain of the sealer thread in flight commits before ours
    flush_buffer()
    with transaction() as session:
        reads = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.action == "hl7.read").order_by(AuditEvent.id)
        ).all()
    assert [(e.resource_type, e.resource_id, e.patient_id) for e in reads] == [
        ("hl7", str(received[1]), "MRN-R1"),
        ("hl7", str(received[0]), "MRN-R1"),
        ("hl7", str(received[2]), None),
    ]
    assert reads[0].event_code == "110110"  # Patient Record
    assert reads[0].actor_username
    assert "王" not in reads[0].detail


def test_reprocess_applies_a_refused_message_once_its_cause_is_fixed(
    client: TestClient, auth_headers: Headers, received: list[int]
) -> None:
    admin = auth_headers("admin")
    refused = f"/api/hl7/messages/{received[1]}/reprocess"
    still = client.post(refused, headers=admin).json()  # the prior patient is still unknown
    assert (still["ack_code"], still["reason_code"]) == ("AE", "unknown_prior_patient")
    service.receive(adt("C9", "MRN-GONE"), "127.0.0.1")  # the HIS registers it: the cause is fixed
    applied = client.post(refused, headers=admin)
    assert applied.status_code == 200, applied.text
    assert applied.json()["ack_code"] == "AA"
    again = client.post(refused, headers=admin).json()  # applied once, never twice
    assert (again["ack_code"], again["reason_code"]) == ("AA", "duplicate")
    with transaction() as session:
        gone = session.scalars(
            sa.select(PatientRecord).where(PatientRecord.mrn == "MRN-GONE")
        ).one()
        into = session.scalars(sa.select(PatientRecord).where(PatientRecord.mrn == "MRN-R1")).one()
        assert gone.merged_into_id == into.id
        rows = session.scalars(sa.select(Hl7Message).where(Hl7Message.control_id == "C2")).all()
    assert [r.ack_code for r in rows] == ["AE", "AE", "AA"]  # each try kept; the duplicate is not
    assert (
        client.post(f"/api/hl7/messages/{received[0]}/reprocess", headers=admin).status_code == 409
    )
    assert client.post("/api/hl7/messages/999999/reprocess", headers=admin).status_code == 404
