"""Fuzzy name matching ignores accents (issue 12.9c), on every database backend."""

from __future__ import annotations

from collections.abc import Callable

import sqlalchemy as sa
from fastapi.testclient import TestClient

from hounsfield.db import get_engine
from hounsfield.dicom.charset import fold_accents
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import multipart_body


def _stow(client: TestClient, headers: dict[str, str], **overrides: str) -> None:
    body, content_type = multipart_body([to_bytes(make_dataset(**overrides))])
    response = client.post(
        "/dicom-web/studies", content=body, headers={**headers, "Content-Type": content_type}
    )
    assert response.status_code == 200, response.text


def _names(client: TestClient, headers: dict[str, str], query: str, key: str) -> list[str]:
    response = client.get(
        "/dicom-web/studies",
        params={key: query, "fuzzymatching": "true"},
        headers=headers,
    )
    assert response.status_code in (200, 204), response.text
    if response.status_code == 204:
        return []
    return [s["00100020"]["Value"][0] for s in response.json()]


def test_fuzzy_name_matching_folds_accents(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    headers = auth_headers("technician")
    _stow(client, headers, PatientID="J1", PatientName="Buc^Jérôme",
          ReferringPhysicianName="Ødegård^Søren")  # fmt: skip
    _stow(client, headers, PatientID="Z2", PatientName="Zhang^Wei=张^伟")
    for query in ("jerome", "JEROME buc", "Jérôme", "jérô", "buc"):
        assert _names(client, headers, query, "PatientName") == ["J1"], query
    assert _names(client, headers, "odegard soren", "ReferringPhysicianName") == ["J1"]
    assert _names(client, headers, "张", "PatientName") == ["Z2"]
    assert _names(client, headers, "jeromex", "PatientName") == []


def test_fold_accents_keeps_chinese_and_kana() -> None:
    assert fold_accents("buc^jérôme ñandú") == "buc^jerome nandu"
    assert fold_accents("张^伟=ガ") == "张^伟=ガ"


def test_the_migration_refolds_names_stored_before(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    from importlib import import_module

    migration = import_module("hounsfield.migrations.versions.0005_fold_accents")
    _stow(client, auth_headers("technician"), PatientID="J1", PatientName="Buc^Jérôme")
    with get_engine().begin() as conn:
        conn.execute(sa.text("UPDATE dicom_patients SET name_search = ' buc jérôme'"))
        migration.refold(conn)
        stored = conn.execute(sa.text("SELECT name_search FROM dicom_patients")).scalar_one()
    assert stored.split() == ["buc", "jérôme", "jerome", "bucjérôme", "bucjerome"]
