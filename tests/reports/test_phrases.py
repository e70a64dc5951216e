"""The phrase library (常用语): who sees which phrases, who may change them, duplicate
shortcuts (409), validation (422), and the built-in starter set kept at migrate."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.reports.models import SHARED, ReportPhrase
from hounsfield.reports.phrases import STARTER, ensure_starter_phrases
from tests.conftest import login

Headers = dict[str, str]
URL = "/api/report-phrases"


@pytest.fixture
def people(client: TestClient, make_user: Callable[..., Any]) -> dict[str, Headers]:
    """Two doctors (report:template), a custom role that writes reports only, a nurse."""
    admin = login(client, make_user("admin").username)
    made = client.post("/api/roles", json={"name": "writer", "description": "writes",
                                           "permissions": ["report:read", "report:write"]},
                       headers=admin)  # fmt: skip
    assert made.status_code == 201, made.text
    return {
        "wang": login(client, make_user("doctor").username),
        "li": login(client, make_user("doctor").username),
        "writer": login(client, make_user("writer").username),
        "nurse": login(client, make_user("nurse").username),
    }


def add(client: TestClient, headers: Headers, **body: Any) -> Any:
    return client.post(URL, json=body, headers=headers)


def shortcuts(client: TestClient, headers: Headers, **params: str) -> dict[str, list[str]]:
    listed = client.get(URL, params=params, headers=headers)
    assert listed.status_code == 200, listed.text
    found: dict[str, list[str]] = {}
    for p in listed.json():
        found.setdefault(p["shortcut"], []).append("shared" if p["shared"] else "mine")
    return found


def test_the_starter_set_is_shared_built_in_and_read_only(
    client: TestClient, people: dict[str, Headers]
) -> None:
    listed = client.get(URL, headers=people["nurse"]).json()
    builtin = {p["shortcut"]: p for p in listed if p["builtin"]}
    assert set(builtin) == set(STARTER)
    assert builtin["nml"]["text"] == "未见明显异常。"
    assert builtin["nml"]["language"] == "zh-CN"
    assert builtin["chesten"]["language"] == "en"
    assert all(p["shared"] and not p["editable"] for p in builtin.values())
    nml = builtin["nml"]["id"]
    changed = client.patch(f"{URL}/{nml}", json={"text": "x"}, headers=people["wang"])
    assert changed.status_code == 409
    assert changed.json()["error"]["code"] == "builtin_phrase"
    assert client.delete(f"{URL}/{nml}", headers=people["wang"]).status_code == 409


def test_ensuring_the_starter_set_again_refreshes_it_and_keeps_custom_phrases(
    client: TestClient, people: dict[str, Headers]
) -> None:
    mine = add(client, people["wang"], shortcut="nml", text="我的未见异常")
    assert mine.status_code == 201, mine.text
    with transaction(write=True) as session:
        row = session.scalar(select(ReportPhrase).where(
            ReportPhrase.owner_key == SHARED, ReportPhrase.shortcut == "nml"))  # fmt: skip
        assert row is not None
        row.text = "被改动"
    with transaction(write=True) as session:
        ensure_starter_phrases(session)
    with transaction() as session:
        rows = session.scalars(select(ReportPhrase).where(ReportPhrase.shortcut == "nml")).all()
        texts = sorted(r.text for r in rows)
        builtins = session.scalars(select(ReportPhrase).where(ReportPhrase.builtin)).all()
    assert texts == ["我的未见异常", "未见明显异常。"]
    assert len(builtins) == len(STARTER)  # refreshed, not duplicated


def test_each_sees_the_shared_phrases_and_their_own_only(
    client: TestClient, people: dict[str, Headers]
) -> None:
    assert add(client, people["wang"], shortcut="Nod", text="右肺结节。").status_code == 201
    assert add(client, people["li"], shortcut="nod", text="李的结节").status_code == 201
    assert add(client, people["wang"], shortcut="nml", text="王的正常").status_code == 201
    wang = shortcuts(client, people["wang"])
    assert wang["nod"] == ["mine"]  # folded to lower case; not 李's
    assert sorted(wang["nml"]) == ["mine", "shared"]  # a personal one may shadow a shared one
    assert shortcuts(client, people["li"])["nod"] == ["mine"]
    assert "nod" not in shortcuts(client, people["nurse"])

    ct = add(client, people["wang"], shortcut="ctonly", text="CT 所见", modality="CT")
    assert ct.status_code == 201, ct.text
    assert "ctonly" in shortcuts(client, people["wang"], modality="CT")
    in_mr = shortcuts(client, people["wang"], modality="MR")
    assert "ctonly" not in in_mr
    assert "nml" in in_mr  # without modality: fits every one
    assert "brain" not in in_mr  # the starter's CT phrase
    english = shortcuts(client, people["wang"], language="en")
    assert "nmlen" in english
    assert "lung" not in english


def test_personal_needs_report_write_and_shared_needs_report_template(
    client: TestClient, people: dict[str, Headers]
) -> None:
    assert add(client, people["nurse"], shortcut="a", text="x").status_code == 403
    assert add(client, people["writer"], shortcut="a", text="个人").status_code == 201
    shared = add(client, people["writer"], shortcut="b", text="共享", shared=True)
    assert shared.status_code == 403
    assert shared.json()["error"]["code"] == "shared_phrase_denied"
    made = add(client, people["wang"], shortcut="fuct", text="建议复查 CT。", shared=True)
    assert made.status_code == 201, made.text
    assert made.json()["shared"] is True
    assert made.json()["owner_id"] is None
    assert "fuct" in shortcuts(client, people["writer"])
    phrase = made.json()["id"]

    assert client.patch(f"{URL}/{phrase}", json={"text": "改"},
                        headers=people["writer"]).status_code == 403  # fmt: skip
    assert client.delete(f"{URL}/{phrase}", headers=people["writer"]).status_code == 403
    edited = client.patch(f"{URL}/{phrase}", json={"text": "建议 3 个月后复查 CT。"},
                          headers=people["li"])  # fmt: skip
    assert edited.status_code == 200, edited.text
    assert edited.json()["text"] == "建议 3 个月后复查 CT。"
    assert client.delete(f"{URL}/{phrase}", headers=people["li"]).status_code == 204
    assert "fuct" not in shortcuts(client, people["wang"])


def test_only_the_owner_changes_a_personal_phrase(
    client: TestClient, people: dict[str, Headers]
) -> None:
    phrase = add(client, people["wang"], shortcut="mine", text="王的").json()
    url = f"{URL}/{phrase['id']}"
    assert client.patch(url, json={"text": "李改"}, headers=people["li"]).status_code == 404
    assert client.delete(url, headers=people["li"]).status_code == 404
    assert client.delete(url, headers=people["nurse"]).status_code == 403
    edited = client.patch(url, json={"shortcut": "MINE2", "modality": "CT"}, headers=people["wang"])
    assert edited.status_code == 200, edited.text
    assert (edited.json()["shortcut"], edited.json()["modality"]) == ("mine2", "CT")
    cleared = client.patch(url, json={"modality": None}, headers=people["wang"])
    assert cleared.json()["modality"] is None
    assert cleared.json()["text"] == "王的"
    assert client.delete(url, headers=people["wang"]).status_code == 204
    assert client.delete(url, headers=people["wang"]).status_code == 404

    audit_service.flush_buffer()
    with transaction() as session:
        actions = session.scalars(
            select(AuditEvent.action).where(AuditEvent.resource_id == phrase["id"])
        ).all()
    assert sorted(actions) == ["report_phrase.create", "report_phrase.delete",
                               "report_phrase.update", "report_phrase.update"]  # fmt: skip


def test_a_taken_shortcut_is_a_409_with_a_chinese_message(
    client: TestClient, people: dict[str, Headers]
) -> None:
    assert add(client, people["wang"], shortcut="dup", text="一").status_code == 201
    again = add(client, people["wang"], shortcut="DUP", text="二")
    assert again.status_code == 409
    assert again.json()["error"]["code"] == "phrase_exists"
    assert again.json()["error"]["message"] == "已有相同快捷词的常用语，请换一个快捷词"
    english = client.post(URL, json={"shortcut": "dup", "text": "二"},
                          headers={**people["wang"], "Accept-Language": "en"})  # fmt: skip
    assert "shortcut exists" in english.json()["error"]["message"]
    shared = add(client, people["li"], shortcut="nml", text="共享重复", shared=True)
    assert shared.status_code == 409  # the starter's shortcut among the shared ones
    other = add(client, people["wang"], shortcut="dup2", text="三").json()
    renamed = client.patch(f"{URL}/{other['id']}", json={"shortcut": "dup"},
                           headers=people["wang"])  # fmt: skip
    assert renamed.status_code == 409
    assert "dup2" in shortcuts(client, people["wang"])  # nothing lost


@pytest.mark.parametrize(
    "body",
    [
        {"shortcut": "", "text": "x"},
        {"shortcut": "a" * 17, "text": "x"},
        {"shortcut": "a b", "text": "x"},
        {"shortcut": "正常", "text": "x"},
        {"shortcut": ";nml", "text": "x"},
        {"shortcut": "ok", "text": ""},
        {"shortcut": "ok", "text": "x" * 4001},
        {"shortcut": "ok", "text": "bell\x07"},
        {"shortcut": "ok", "text": "nul\x00"},
        {"shortcut": "ok", "text": "esc\x1b[31m"},
        {"shortcut": "ok", "text": "x", "modality": "ct"},
        {"shortcut": "ok", "text": "x", "language": "fr"},
        {"shortcut": "ok", "text": "x", "owner_id": None},
    ],
)
def test_bad_input_is_refused_with_422(
    client: TestClient, people: dict[str, Headers], body: dict[str, Any]
) -> None:
    refused = add(client, people["wang"], **body)
    assert refused.status_code == 422, body
    assert refused.json()["error"]["code"] == "validation_error"
    assert "ok" not in shortcuts(client, people["wang"])


def test_line_breaks_and_4000_characters_are_fine(
    client: TestClient, people: dict[str, Headers]
) -> None:
    long = "肺" * 3990 + "\n第二行\t。"
    made = add(client, people["wang"], shortcut="long_1", text=long)
    assert made.status_code == 201, made.text
    assert made.json()["text"] == long
