"""The search index: a bounded total, and hidden records' terms going and coming back."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.script import ScriptDirectory
from fastapi.testclient import TestClient

from hounsfield.db import get_engine, transaction
from hounsfield.migrate import alembic_config
from hounsfield.patients import service
from hounsfield.patients.models import PatientRecord, PatientSearchTerm

Headers = Callable[..., dict[str, str]]
REVISION = "0023_search_terms_sort_key"


@pytest.fixture
def admin(auth_headers: Headers) -> dict[str, str]:
    return auth_headers("admin")


def _create(client: TestClient, headers: dict[str, str], **fields: Any) -> int:
    response = client.post("/api/patients", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return int(response.json()["id"])


def _page(client: TestClient, headers: dict[str, str], **params: Any) -> dict[str, Any]:
    response = client.get("/api/patients", params=params, headers=headers)
    assert response.status_code == 200, response.text
    return dict(response.json())


def _found(client: TestClient, headers: dict[str, str], q: str) -> list[str]:
    return [p["mrn"] for p in _page(client, headers, q=q)["items"]]


def _terms_of(patient_id: int) -> set[tuple[str, str]]:
    with transaction() as session:
        rows = session.execute(
            sa.select(PatientSearchTerm.term, PatientSearchTerm.sort_name).where(
                PatientSearchTerm.patient_id == patient_id
            )
        )
        return {(r.term, r.sort_name) for r in rows}


def test_the_total_is_exact_up_to_the_bound_and_a_lower_bound_past_it(
    client: TestClient, admin: dict[str, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    for i in range(5):
        _create(client, admin, mrn=f"B{i}", name_ideographic="王^伟", sex="M" if i < 4 else "F")
    assert (_page(client, admin)["total"], _page(client, admin)["total_exact"]) == (5, True)
    monkeypatch.setattr(service, "COUNT_BOUND", 3)
    for params in ({}, {"q": "ww"}, {"q": "ww", "sex": "M"}, {"sex": "M"}):
        page = _page(client, admin, limit=2, **params)
        assert (page["total"], page["total_exact"]) == (3, False), params
        assert len(page["items"]) == 2
    # Counting goes one past the page asked for, so the next page is always reachable.
    page = _page(client, admin, q="wangwei", limit=2, offset=2)
    assert (page["total"], page["total_exact"]) == (5, True)
    assert [p["mrn"] for p in page["items"]] == ["B2", "B3"]  # same name: by id
    page = _page(client, admin, q="wangwei", sex="M", limit=2, offset=2)
    assert (page["total"], page["total_exact"]) == (4, True)
    page = _page(client, admin, q="王伟", sex="F")
    assert (page["total"], page["total_exact"], len(page["items"])) == (1, True, 1)


def test_a_deleted_record_has_no_terms_until_it_is_restored(
    client: TestClient, admin: dict[str, str]
) -> None:
    kept = _create(client, admin, mrn="K1", name_ideographic="李^四")
    gone = _create(client, admin, mrn="D1", name_ideographic="李^思", phone="13812348000")
    terms = _terms_of(gone)
    assert ("lisi", "lisi李思") in terms
    assert client.delete(f"/api/patients/{gone}", headers=admin).status_code == 204
    assert _terms_of(gone) == set()
    assert _found(client, admin, "lisi") == ["K1"]
    assert _found(client, admin, "13812348000") == []
    assert _page(client, admin, q="li")["total"] == 1

    restored = client.post(f"/api/patients/{gone}/restore", headers=admin)
    assert restored.status_code == 200, restored.text
    assert restored.json()["version"] == 3  # created 1, deleted 2, restored 3
    assert _terms_of(gone) == terms
    assert sorted(_found(client, admin, "lisi")) == ["D1", "K1"]
    assert _found(client, admin, "13812348000") == ["D1"]
    again = client.post(f"/api/patients/{gone}/restore", headers=admin)
    assert again.status_code == 404  # not deleted (any more)
    assert client.post(f"/api/patients/{kept + 1000}/restore", headers=admin).status_code == 404


def test_a_merged_record_has_no_terms_until_the_merge_is_undone(
    client: TestClient, admin: dict[str, str]
) -> None:
    source = _create(client, admin, mrn="S1", name_ideographic="赵^六", name_alphabetic="Zhao^Liu")
    target = _create(client, admin, mrn="T1", name_ideographic="钱^七")
    terms = _terms_of(source)
    merged = client.post(
        "/api/patients/merge", json={"source_id": source, "target_id": target}, headers=admin
    )
    assert merged.status_code == 200, merged.text
    assert _terms_of(source) == set()
    assert _found(client, admin, "zl") == []
    assert _found(client, admin, "S1") == []
    refused = client.post(f"/api/patients/{source}/restore", headers=admin)
    assert refused.status_code == 409
    assert refused.json()["error"]["code"] == "patient_merged"
    assert refused.json()["error"]["message"] == "该患者已合并到其他患者，撤销合并即可恢复。"

    undone = client.post(f"/api/patients/merges/{merged.json()['merge_id']}/undo", headers=admin)
    assert undone.status_code == 200, undone.text
    assert _terms_of(source) == terms
    assert _found(client, admin, "zl") == ["S1"]
    assert _found(client, admin, "liu zhao") == ["S1"]


def test_restore_is_audited(client: TestClient, admin: dict[str, str]) -> None:
    from hounsfield.audit.models import AuditEvent
    from hounsfield.audit.service import flush_buffer, sealer

    gone = _create(client, admin, mrn="A1", name_alphabetic="Doe^Jane")
    client.delete(f"/api/patients/{gone}", headers=admin)
    client.post(f"/api/patients/{gone}/restore", headers=admin)
    sealer.stop()
    flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            sa.select(AuditEvent.action).where(AuditEvent.resource_id == str(gone))
        ).all()
    assert "patient.restore" in actions


def _old_layout_terms(conn: sa.Connection, patient_id: int, terms: list[str]) -> None:
    conn.execute(
        sa.text("INSERT INTO patient_search_terms (term, patient_id) VALUES (:t, :p)"),
        [{"t": t, "p": patient_id} for t in terms],
    )


def test_migration_0023_rebuilds_the_index_without_hidden_records() -> None:
    """Down to 0022's layout, rows written there, up again: sort names filled in, every
    visible record's terms kept, a deleted one's dropped."""
    config = alembic_config()
    before = ScriptDirectory.from_config(config).get_revision(REVISION).down_revision
    assert isinstance(before, str)
    command.downgrade(config, before)
    try:
        with get_engine().begin() as conn:
            now = sa.func.now()
            rows = [
                {"id": 7, "mrn": "V7", "sort_name": "zhangsan张三", "deleted_at": None},
                {"id": 8, "mrn": "H8", "sort_name": "lisi李四", "deleted_at": now},
                {"id": 30_007, "mrn": "V30007", "sort_name": "wangwu王五", "deleted_at": None},
            ]  # ids in two of the migration's batches
            for row in rows:
                conn.execute(sa.insert(PatientRecord.__table__).values(
                    issuer="", version=1, created_at=now, updated_at=now, **row
                ))  # fmt: skip
            _old_layout_terms(conn, 7, ["v7", "zhangsan", "zs"])
            _old_layout_terms(conn, 8, ["h8", "lisi"])
            _old_layout_terms(conn, 30_007, ["v30007", "ww"])
    finally:
        command.upgrade(config, "head")
    with transaction() as session:
        found = session.execute(
            sa.select(
                PatientSearchTerm.term, PatientSearchTerm.sort_name, PatientSearchTerm.patient_id
            )
        ).all()
    assert sorted(found) == [
        ("v30007", "wangwu王五", 30_007),
        ("v7", "zhangsan张三", 7),
        ("ww", "wangwu王五", 30_007),
        ("zhangsan", "zhangsan张三", 7),
        ("zs", "zhangsan张三", 7),
    ]


def test_a_page_skips_a_patients_repeated_terms(client: TestClient, admin: dict[str, str]) -> None:
    """曾志忠 has many terms starting with z (zengzhizhong, zzz, zhizhong, zz, ...): the
    page of distinct patients must look past the first rows, all of the first patient."""
    for mrn in ("Z1", "Z2", "Z3"):
        _create(client, admin, mrn=mrn, name_ideographic="曾^志忠")
    with transaction() as session:
        first = session.scalar(sa.select(PatientRecord.id).where(PatientRecord.mrn == "Z1"))
    assert len({t for t, _ in _terms_of(int(first or 0)) if t.startswith("z")}) >= 4
    for offset, expected in ((0, ["Z1"]), (1, ["Z2"]), (2, ["Z3"]), (3, [])):
        page = _page(client, admin, q="z", limit=1, offset=offset)
        assert [p["mrn"] for p in page["items"]] == expected, offset
        assert (page["total"], page["total_exact"]) == (3, True)
    page = _page(client, admin, q="z", sort="-name", limit=2)
    assert [p["mrn"] for p in page["items"]] == ["Z3", "Z2"]
