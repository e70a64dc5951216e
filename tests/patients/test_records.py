"""Patient records over HTTP: encryption at rest, masking, validation, versions, audit, search."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import flush_buffer, sealer
from hounsfield.config import get_settings
from hounsfield.db import get_engine, transaction

NATIONAL_ID = "11010519491231002X"  # a valid GB 11643 number (check character X)
PHONE = "13812348000"

Headers = Callable[..., dict[str, str]]


def _create(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post("/api/patients", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


@pytest.fixture
def admin(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("admin")


def test_national_id_and_phone_are_encrypted_at_rest(
    client: TestClient, admin: dict[str, str], data_dir: Path
) -> None:
    created = _create(
        client,
        admin,
        name_ideographic="张^三丰",
        name_alphabetic="Zhang^Sanfeng",
        national_id=NATIONAL_ID,
        phone="138 1234 8000",
    )
    assert created["national_id"] == NATIONAL_ID  # the admin reads them in full
    assert created["phone"] == PHONE
    assert created["birth_date"] == "1949-12-31"  # taken from the ID when not given
    assert created["name"] == "张三丰 (Zhang Sanfeng)"

    with get_engine().connect() as conn:
        rows = conn.execute(sa.text("SELECT * FROM patients")).mappings().all()
        terms = conn.execute(sa.text("SELECT term FROM patient_search_terms")).scalars().all()
    stored = json.dumps([dict(r) for r in rows], default=str) + json.dumps(list(terms))
    for secret in (NATIONAL_ID, PHONE, NATIONAL_ID[-8:], PHONE[-8:]):
        assert secret not in stored
    assert rows[0]["key_id"]
    assert rows[0]["national_id_enc"]
    assert rows[0]["phone_hash"]
    if get_settings().is_sqlite:  # and the database file itself (with its WAL)
        for path in data_dir.glob("test.db*"):
            raw = path.read_bytes()
            assert NATIONAL_ID.encode() not in raw, path
            assert PHONE.encode() not in raw, path


def test_masked_unless_the_role_may_read_sensitive_data(
    client: TestClient, admin: dict[str, str], auth_headers: Headers
) -> None:
    created = _create(client, admin, name_ideographic="李^四", national_id=NATIONAL_ID, phone=PHONE)
    for role, national_id, phone in (
        ("doctor", "110***********002X", "138****8000"),
        ("technician", "110***********002X", "138****8000"),
        ("nurse", NATIONAL_ID, PHONE),
        ("admin", NATIONAL_ID, PHONE),
    ):
        headers = auth_headers(role)
        one = client.get(f"/api/patients/{created['id']}", headers=headers).json()
        assert (one["national_id"], one["phone"]) == (national_id, phone), role
        listed = client.get("/api/patients", headers=headers).json()["items"][0]
        assert (listed["national_id"], listed["phone"]) == (national_id, phone), role


def test_reads_and_changes_are_audited_with_the_patient_id(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = _create(client, admin, mrn="MRN-A1", name_alphabetic="Doe^Jane")
    pid = str(created["id"])
    client.get(f"/api/patients/{pid}", headers=admin)
    client.get("/api/patients", params={"q": "doe"}, headers=admin)
    client.patch(f"/api/patients/{pid}", json={"version": 1, "notes": "x"}, headers=admin)
    sealer.stop()  # a drain of the sealer thread in flight commits before ours
    flush_buffer()
    with transaction() as session:
        events = session.scalars(
            sa.select(AuditEvent).where(AuditEvent.resource_type == "patient")
        ).all()
        found = {(e.action, e.resource_id, e.patient_id) for e in events}
        query = next(e for e in events if e.action == "patient.query")
    assert ("patient.create", pid, "MRN-A1") in found
    assert ("patient.read", pid, "MRN-A1") in found
    assert ("patient.update", pid, "MRN-A1") in found
    assert json.loads(query.detail)["patient_ids"] == [created["id"]]
    assert "doe" not in query.detail  # the search text is patient data: not kept


@pytest.mark.parametrize(
    ("fields", "code", "field"),
    [
        ({"national_id": "110105194912310021"}, "national_id_invalid", "national_id"),
        ({"national_id": "11010519491331002X"}, "national_id_invalid", "national_id"),
        ({"phone": "12345"}, "phone_invalid", "phone"),
        (
            {"national_id": NATIONAL_ID, "birth_date": "1950-01-01"},
            "birth_date_mismatch",
            "birth_date",
        ),
    ],
)
def test_invalid_fields_are_refused_with_a_code_in_both_languages(
    client: TestClient, admin: dict[str, str], fields: dict[str, str], code: str, field: str
) -> None:
    chinese = client.post("/api/patients", json=fields, headers=admin)
    english = client.post(
        "/api/patients", json=fields, headers={**admin, "Accept-Language": "en-US,en;q=0.9"}
    )
    for response in (chinese, english):
        assert response.status_code == 422
        assert response.json()["error"]["code"] == code
        assert response.json()["error"]["details"] == {"field": field}
    assert any("\u4e00" <= c <= "\u9fff" for c in chinese.json()["error"]["message"])
    assert english.json()["error"]["message"].isascii()


def test_a_stale_update_is_a_version_conflict(client: TestClient, admin: dict[str, str]) -> None:
    created = _create(client, admin, name_ideographic="王^五", sex="M")
    url = f"/api/patients/{created['id']}"
    first = client.patch(url, json={"version": 1, "sex": "F", "phone": PHONE}, headers=admin)
    assert first.status_code == 200, first.text
    assert (first.json()["version"], first.json()["sex"], first.json()["phone"]) == (2, "F", PHONE)
    stale = client.patch(url, json={"version": 1, "sex": "M"}, headers=admin)
    assert stale.status_code == 409
    assert stale.json()["error"]["code"] == "version_conflict"
    assert client.get(url, headers=admin).json()["sex"] == "F"
    cleared = client.patch(url, json={"version": 2, "phone": None}, headers=admin)
    assert cleared.json()["phone"] is None
    assert cleared.json()["version"] == 3


def test_mrn_is_generated_unique_and_soft_delete_hides(
    client: TestClient, admin: dict[str, str]
) -> None:
    generated = _create(client, admin, name_alphabetic="A^B")
    assert generated["mrn"] == f"HF{generated['id']:08d}"
    _create(client, admin, mrn="M1")
    again = client.post("/api/patients", json={"mrn": "M1"}, headers=admin)
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "mrn_taken"
    assert client.delete(f"/api/patients/{generated['id']}", headers=admin).status_code == 204
    assert client.get(f"/api/patients/{generated['id']}", headers=admin).status_code == 404
    listed = client.get("/api/patients", headers=admin).json()
    assert [p["mrn"] for p in listed["items"]] == ["M1"]
    assert listed["total"] == 1  # the hidden record is not counted


def _mrns(client: TestClient, headers: dict[str, str], **params: Any) -> list[str]:
    response = client.get("/api/patients", params=params, headers=headers)
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["total"] >= len(body["items"])
    return [p["mrn"] for p in body["items"]]


def test_search_by_hanzi_pinyin_initials_polyphonic_latin_and_exact_numbers(
    client: TestClient, admin: dict[str, str]
) -> None:
    for mrn, ideographic, alphabetic, extra in (
        ("P1", "张^三丰", "Zhang^Sanfeng", {"national_id": NATIONAL_ID, "phone": PHONE}),
        ("P2", "单^田芳", "", {"sex": "M"}),
        ("P3", "曾^志伟", "", {"birth_date": "1953-09-02"}),
        ("P4", "解^晓东", "", {}),
        ("P5", "", "Smith^John", {"sex": "M"}),
    ):
        _create(
            client,
            admin,
            mrn=mrn,
            name_ideographic=ideographic,
            name_alphabetic=alphabetic,
            **extra,
        )
    expectations = {
        "zsf": ["P1"],
        "张三": ["P1"],
        "三丰": ["P1"],
        "zhang san": ["P1"],
        "Zhang^Sanfeng": ["P1"],
        "ZHANGSANFENG": ["P1"],
        "sanf": ["P1"],
        "shan": ["P2"],
        "dan": ["P2"],
        "stf": ["P2"],
        "dtf": ["P2"],
        "zeng": ["P3"],
        "ceng": ["P3"],
        "czw": ["P3"],
        "xie": ["P4"],
        "jie": ["P4"],
        "jxd": ["P4"],
        "smith": ["P5"],
        "john": ["P5"],
        "john smith": ["P5"],
        "p": ["P1", "P2", "P3", "P4", "P5"],
        NATIONAL_ID: ["P1"],
        NATIONAL_ID.lower(): ["P1"],
        "+86 138-1234-8000": ["P1"],
        NATIONAL_ID[:10]: [],
        PHONE[:7]: [],
        "王": [],
        "!!": [],
    }
    for q, expected in expectations.items():
        assert sorted(_mrns(client, admin, q=q)) == expected, q
    assert _mrns(client, admin, q="p", sex="M") == ["P2", "P5"]  # sorted by pinyin name
    assert _mrns(client, admin, birth_date="1953-09-02") == ["P3"]
    assert _mrns(client, admin, sort="-mrn", limit=2) == ["P5", "P4"]
    page = client.get(
        "/api/patients", params={"sort": "mrn", "limit": 2, "offset": 2}, headers=admin
    ).json()
    assert page["total"] == 5
    assert [p["mrn"] for p in page["items"]] == ["P3", "P4"]


def test_renamed_patients_are_found_by_their_new_name_only(
    client: TestClient, admin: dict[str, str]
) -> None:
    created = _create(client, admin, mrn="R1", name_ideographic="赵^六")
    client.patch(
        f"/api/patients/{created['id']}",
        json={"version": 1, "name_ideographic": "钱^七"},
        headers=admin,
    )
    assert _mrns(client, admin, q="qian") == ["R1"]
    assert _mrns(client, admin, q="zhao") == []
