"""Study export: a zip of the study, de-identified by default; no canary survives."""

from __future__ import annotations

import io
import zipfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit.models import AuditEvent
from hounsfield.audit.service import Outcome, flush_buffer
from hounsfield.db import transaction
from tests.dicom.test_deidentify import CANARY, CANARY_UID, loaded_with_canaries
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.test_retrieve import corrupt

CHINESE = "测试"


def members(content: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        return {name: archive.read(name) for name in archive.namelist()}


def test_deidentified_export_holds_no_canary(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    ds = loaded_with_canaries()
    study = ds.StudyInstanceUID
    assert CANARY_UID in study
    second = make_dataset(
        StudyInstanceUID=study, PatientID=ds.PatientID, PatientName=ds.PatientName
    )
    response = stow([to_bytes(ds), to_bytes(second)])
    assert response.status_code in (200, 202), response.text
    assert "00081198" not in response.json()
    doctor = auth_headers("doctor")
    export = client.get(f"/api/studies/{study}/export", headers=doctor)
    assert export.status_code == 200, export.text
    assert export.headers["content-type"] == "application/zip"
    files = members(export.content)
    assert len(files) == 2
    for name, data in files.items():
        assert CANARY.encode() not in data, name
        assert CHINESE.encode() not in data
        assert CANARY_UID.encode() not in data
        assert CANARY_UID not in name
        out = pydicom.dcmread(io.BytesIO(data))
        assert out.PatientIdentityRemoved == "YES"
        assert out.StudyInstanceUID.startswith("2.25.")
    studies = {pydicom.dcmread(io.BytesIO(d)).StudyInstanceUID for d in files.values()}
    assert len(studies) == 1  # both instances remapped to the same new study
    flush_buffer()  # export events go through the audit journal
    with transaction() as session:
        event = session.scalars(select(AuditEvent).where(AuditEvent.action == "image.export")).one()
    assert event.resource_id == study
    assert '"deidentified": true' in event.detail


def test_export_options_are_explicit_recorded_and_audited(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    """SECURITY P3: Retain UIDs and Clean Descriptors only when asked, in the copies'
    (0012,0064) codes and in the export's audit record; never with a plain export."""
    ds = make_dataset(PatientName="Canary^Zz=测试^甲", PatientID="ZZCANARYID",
                      StudyDescription="CT CHEST ZZCANARYID 测试甲")  # fmt: skip
    assert stow([to_bytes(ds)]).status_code == 200
    url = f"/api/studies/{ds.StudyInstanceUID}/export"
    doctor = auth_headers("doctor")
    chosen = {"retain_uids": "true", "clean_descriptors": "true"}
    export = client.get(url, params=chosen, headers=doctor)
    assert export.status_code == 200, export.text
    [data] = members(export.content).values()
    out = pydicom.dcmread(io.BytesIO(data))
    assert out.StudyInstanceUID == ds.StudyInstanceUID
    assert out.SOPInstanceUID == ds.SOPInstanceUID
    assert out.StudyDescription == "CT CHEST"
    assert b"ZZCANARY" not in data
    assert CHINESE.encode() not in data
    codes = [c.CodeValue for c in out.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107", "113105", "113110"]

    default = members(client.get(url, headers=doctor).content)
    [plain] = [pydicom.dcmread(io.BytesIO(d)) for d in default.values()]
    assert plain.StudyInstanceUID != ds.StudyInstanceUID
    assert "StudyDescription" not in plain
    assert [c.CodeValue for c in plain.DeidentificationMethodCodeSequence] == ["113100", "113107"]
    refused = client.get(url, params={"deidentify": "false", "retain_uids": "true"},
                         headers=doctor)  # fmt: skip
    assert refused.status_code == 400
    assert refused.json()["error"]["code"] == "option_without_deidentification"

    flush_buffer()
    with transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.action == "image.export").order_by(AuditEvent.id)
        ).all()
    assert '"options": ["retain_uids", "clean_descriptors"]' in events[0].detail
    assert '"options": []' in events[1].detail
    assert len(events) == 2  # the refused request exported nothing


def test_plain_export_keeps_bytes_and_needs_image_export(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    ds = make_dataset()
    data = to_bytes(ds)
    assert stow([data]).status_code == 200
    url = f"/api/studies/{ds.StudyInstanceUID}/export"
    assert client.get(url, headers=auth_headers("nurse")).status_code == 403
    export = client.get(url, params={"deidentify": "false"}, headers=auth_headers("doctor"))
    assert list(members(export.content).values()) == [data]


def test_burned_in_annotation_blocks_deidentified_export(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    ds = make_dataset(Modality="US", BurnedInAnnotation="YES")
    assert stow([to_bytes(ds)]).status_code == 200
    response = client.get(
        f"/api/studies/{ds.StudyInstanceUID}/export", headers=auth_headers("doctor")
    )
    assert response.status_code == 409
    assert response.json()["error"]["code"] == "burned_in_annotation"


def export_events() -> list[AuditEvent]:
    flush_buffer()  # export events go through the audit journal
    with transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == "image.export")
        return list(session.scalars(query.order_by(AuditEvent.id)))


def two_instance_study(stow: Callable[..., Any]) -> list[Any]:
    first = make_dataset(InstanceNumber=1)
    second = make_dataset(
        InstanceNumber=2,
        StudyInstanceUID=first.StudyInstanceUID,
        SeriesInstanceUID=first.SeriesInstanceUID,
        seed=1,
    )
    assert stow([to_bytes(first), to_bytes(second)]).status_code == 200
    return [first, second]


@pytest.mark.parametrize("deidentify", ["false", "true"])
def test_corrupt_first_object_is_a_clean_error_audited_as_failure(
    deidentify: str,
    stow: Callable[..., Any],
    client: TestClient,
    auth_headers: Callable[..., dict[str, str]],
    data_dir: Path,
) -> None:
    first, _second = two_instance_study(stow)
    tail = corrupt(data_dir, first.SOPInstanceUID)
    response = client.get(
        f"/api/studies/{first.StudyInstanceUID}/export",
        params={"deidentify": deidentify},
        headers=auth_headers("doctor"),
    )
    assert response.status_code == 500
    assert response.json()["error"]["code"] == "object_corrupt"
    assert tail not in response.content
    [event] = export_events()
    assert event.outcome == Outcome.serious_failure
    assert '"failure": "object_corrupt"' in event.detail


def test_export_failing_mid_stream_is_never_a_complete_zip_nor_a_success(
    stow: Callable[..., Any],
    app: Any,
    auth_headers: Callable[..., dict[str, str]],
    data_dir: Path,
) -> None:
    _first, second = two_instance_study(stow)
    tail = corrupt(data_dir, second.SOPInstanceUID)
    doctor = auth_headers("doctor")
    with TestClient(app, raise_server_exceptions=False) as client:
        response = client.get(
            f"/api/studies/{second.StudyInstanceUID}/export",
            params={"deidentify": "false"},
            headers=doctor,
        )
    assert tail not in response.content
    with pytest.raises(zipfile.BadZipFile):
        members(response.content)
    [event] = export_events()
    assert event.outcome == Outcome.serious_failure
    assert '"failure": "object_corrupt"' in event.detail


def test_a_complete_export_is_audited_as_success(
    stow: Callable[..., Any], client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    first, _second = two_instance_study(stow)
    export = client.get(
        f"/api/studies/{first.StudyInstanceUID}/export",
        params={"deidentify": "false"},
        headers=auth_headers("doctor"),
    )
    assert len(members(export.content)) == 2
    [event] = export_events()
    assert event.outcome == Outcome.success
    assert "failure" not in event.detail
