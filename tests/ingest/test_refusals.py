"""Refusals carry a human-readable reason: STOW-RS per failed SOP (zh-CN, or English by
Accept-Language) and a Warning header, C-STORE an Error Comment (issue 12.6, 12.7)."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydicom.data import get_testdata_file
from pynetdicom import AE
from pynetdicom.sop_class import RTPlanStorage
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from tests.dicom_factory import make_dataset, to_bytes

TRUNCATED = Path(str(get_testdata_file("rtplan_truncated.dcm")))
ERROR_COMMENT = "00000902"


def _failed(response: Any) -> dict[str, Any]:
    item: dict[str, Any] = response.json()["00081198"]["Value"][0]
    return item


def test_a_truncated_object_is_refused_by_stow_with_its_reason(stow: Callable[..., Any]) -> None:
    response = stow([TRUNCATED.read_bytes()])
    assert response.status_code == 409
    item = _failed(response)
    assert item["00081197"]["Value"] == [0xC000]
    assert item["00081155"]["Value"]  # the SOP Instance UID, as far as it could be read
    assert item[ERROR_COMMENT]["Value"] == ["元素 (300A,00B0) 被截断（长于剩余的字节）"]
    assert response.headers["Warning"] == (
        '299 hounsfield "element (300A,00B0) truncated (longer than the remaining bytes)"'
    )


def test_stow_reasons_in_english_by_accept_language(stow: Callable[..., Any]) -> None:
    headers = {"Accept-Language": "en-US,en;q=0.9,zh;q=0.5"}
    response = stow([TRUNCATED.read_bytes(), b"not DICOM" * 40], headers=headers)
    comments = [i[ERROR_COMMENT]["Value"][0] for i in response.json()["00081198"]["Value"]]
    assert comments == [
        "element (300A,00B0) truncated (longer than the remaining bytes)",
        "not a DICOM file (no DICM prefix and not a readable dataset)",
    ]


def test_stow_warnings_carry_their_reason(stow: Callable[..., Any]) -> None:
    data = bytearray(to_bytes(make_dataset()))
    data[:4] = b"MZ\x90\x00"  # an executable's header in the preamble: zeroed, stored
    response = stow([bytes(data)])
    assert response.status_code == 202
    item = response.json()["00081199"]["Value"][0]
    assert item["00081196"]["Value"] == [0xB000]
    assert item[ERROR_COMMENT]["Value"] == ["非 DICOM 的前导码已替换为零"]
    assert "preamble replaced by zeros" in response.headers["Warning"]


def test_a_truncated_object_is_refused_by_c_store(
    listener: Any, register: Callable[..., Any]
) -> None:
    register("MODALITY", operations=["store"])
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(RTPlanStorage, "1.2.840.10008.1.2")
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    assert assoc.is_established
    try:
        # pynetdicom sends the dataset's bytes as read (they end where the file ends)
        status = assoc.send_c_store(TRUNCATED)
    finally:
        assoc.release()
    assert status.Status == 0xC000
    assert "truncated" in status.ErrorComment


def _refusal_events() -> list[Any]:
    audit_service.flush_buffer()  # refusals are journalled, then drained into the table
    with transaction() as session:
        return list(session.scalars(select(AuditEvent).where(AuditEvent.action == "image.refused")))


def test_refused_stow_parts_are_audited_as_failures(stow: Callable[..., Any]) -> None:
    before = len(_refusal_events())
    stow([TRUNCATED.read_bytes(), b"not DICOM" * 40])
    events = _refusal_events()[before:]
    assert len(events) == 2
    assert {e.outcome for e in events} == {4}  # minor failure
    assert {e.event_code for e in events} == {"110104"}
    reasons = {json.loads(e.detail)["reason"] for e in events}
    assert reasons == {"element_truncated", "not_dicom"}
    assert all(json.loads(e.detail)["origin"] == "stow" for e in events)


def test_a_refused_upload_is_audited(client: Any, auth_headers: Any) -> None:
    before = len(_refusal_events())
    files = [("files", ("junk.dcm", b"not DICOM" * 40, "application/dicom"))]
    response = client.post("/api/uploads", files=files, headers=auth_headers("technician"))
    assert response.status_code < 500
    [event] = _refusal_events()[before:]
    assert event.outcome == 4
    assert event.actor_username is not None
