"""Soft-deleted patients listed for restoring (deleted=true, patient:write), and restored."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

Headers = Callable[..., dict[str, str]]


def _create(client: TestClient, headers: dict[str, str], **fields: Any) -> dict[str, Any]:
    response = client.post("/api/patients", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return dict(response.json())


def test_deleted_records_are_listed_for_writers_and_restored(
    client: TestClient, auth_headers: Headers
) -> None:
    nurse = auth_headers("nurse")
    kept = _create(client, nurse, mrn="DEL-0", name_ideographic="张^一")
    first = _create(client, nurse, mrn="DEL-1", name_ideographic="张^二")
    second = _create(client, nurse, mrn="XDEL-2", name_ideographic="张^三")
    merged = _create(client, nurse, mrn="DEL-3", name_ideographic="张^四")
    for patient in (first, second):
        assert client.delete(f"/api/patients/{patient['id']}", headers=nurse).status_code == 204
    body = {"source_id": merged["id"], "target_id": kept["id"]}
    assert client.post("/api/patients/merge", json=body, headers=nurse).status_code == 200

    def listed(**params: Any) -> list[str]:
        response = client.get("/api/patients", params=params, headers=nurse)
        assert response.status_code == 200, response.text
        page = response.json()
        assert page["total"] == len(page["items"])
        assert page["total_exact"]
        return [p["mrn"] for p in page["items"]]

    assert listed() == ["DEL-0"]
    # The last deleted first; a merged record is not listed (undoing the merge restores it).
    assert listed(deleted="true") == ["XDEL-2", "DEL-1"]
    assert listed(deleted="true", q="DEL") == ["DEL-1"]  # the MRN's beginning
    assert listed(deleted="true", q="张") == []  # hidden records have no name terms
    shown = client.get("/api/patients", params={"deleted": "true"}, headers=nurse).json()
    assert all(p["deleted_at"] for p in shown["items"])

    doctor = client.get("/api/patients", params={"deleted": "true"}, headers=auth_headers("doctor"))
    assert doctor.status_code == 403
    assert doctor.json()["error"]["details"] == {"permission": "patient:write"}
    assert doctor.json()["error"]["message"] == "您没有执行此操作的权限。"

    restored = client.post(f"/api/patients/{first['id']}/restore", headers=nurse)
    assert restored.status_code == 200, restored.text
    assert restored.json()["deleted_at"] is None
    assert listed(deleted="true") == ["XDEL-2"]
    assert sorted(listed()) == ["DEL-0", "DEL-1"]
