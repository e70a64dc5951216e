"""Saved measurements: a study's annotations stored as a DICOM SR (TID 1500) through the
ingest edge, valid for dciodvfy, served by WADO-RS, loaded back, replaced on each save."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pydicom
import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import select

from hounsfield.audit import service as audit_service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from tests.ai.helpers import dciodvfy_errors
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.dicomweb.helpers import parse_multipart

STUDY = {"PatientName": "Wang^Xiaoming=王^小明=", "PatientID": "MRN-M1", "Modality": "CT"}


@pytest.fixture
def study() -> dict[str, str]:
    uid, series = str(generate_uid()), str(generate_uid())
    sops = []
    for n in (1, 2):
        ds = make_dataset(StudyInstanceUID=uid, SeriesInstanceUID=series, InstanceNumber=n,
                          PixelSpacing=[0.5, 0.5], **STUDY)  # fmt: skip
        assert ingest(to_bytes(ds), origin="test").status == "stored"
        sops.append(str(ds.SOPInstanceUID))
    return {"study": uid, "series": series, "sop1": sops[0], "sop2": sops[1]}


def drawn(study: dict[str, str]) -> list[dict[str, Any]]:
    """One of each tool, on two images."""
    on = {"series_instance_uid": study["series"], "frame": 1}
    mm = {"name": "length", "value": 4.0, "unit": "mm"}
    deg = {"name": "angle", "value": 90.0, "unit": "deg"}
    area = [
        {"name": "area", "value": 6.0, "unit": "mm2"},
        {"name": "mean", "value": 40.0, "unit": "HU"},
    ]
    return [
        {**on, "tool": "Length", "sop_instance_uid": study["sop1"],
         "points": [[2.5, 3.5], [10.5, 3.5]], "values": [mm]},
        {**on, "tool": "Angle", "sop_instance_uid": study["sop1"],
         "points": [[1.0, 1.0], [5.0, 5.0], [9.0, 1.0]], "values": [deg]},
        {**on, "tool": "RectangleROI", "sop_instance_uid": study["sop2"],
         "points": [[2.0, 2.0], [8.0, 2.0], [2.0, 6.0], [8.0, 6.0]],
         "values": area},
        {**on, "tool": "EllipticalROI", "sop_instance_uid": study["sop2"],
         "points": [[8.0, 12.0], [8.0, 4.0], [5.0, 8.0], [11.0, 8.0]], "values": []},
        {**on, "tool": "ArrowAnnotate", "sop_instance_uid": study["sop2"],
         "points": [[4.0, 4.0], [12.0, 12.0]], "label": "结节 nodule", "values": []},
    ]  # fmt: skip


@pytest.fixture
def doctor(client: TestClient, make_user: Callable[..., Any]) -> dict[str, str]:
    return login(client, make_user("doctor", display_name="王医生").username)


def test_saved_measurements_come_back_and_are_a_valid_sr_over_wado(
    client: TestClient, doctor: dict[str, str], study: dict[str, str], tmp_path: Path
) -> None:
    url = f"/api/studies/{study['study']}/measurements"
    assert client.get(url, headers=doctor).json()["measurements"] == []

    saved = client.put(url, json={"measurements": drawn(study)}, headers=doctor)
    assert saved.status_code == 200, saved.text
    sr_uid, sr_series = saved.json()["sop_instance_uid"], saved.json()["series_instance_uid"]

    loaded = client.get(url, headers=doctor).json()
    assert loaded["sop_instance_uid"] == sr_uid
    assert loaded["observer"] == "王医生"
    got = {m["tool"]: m for m in loaded["measurements"]}
    for sent in drawn(study):
        back = got[sent["tool"]]
        assert back["sop_instance_uid"] == sent["sop_instance_uid"]
        assert back["series_instance_uid"] == study["series"]
        assert back["values"] == sent["values"]
        if sent["tool"] == "EllipticalROI":  # stored major axis first: the same two axes
            assert sorted(map(tuple, back["points"])) == sorted(map(tuple, sent["points"]))
        else:
            assert back["points"] == sent["points"]
    assert got["ArrowAnnotate"]["label"] == "结节 nodule"

    # The SR is an instance of the study: listed as a series, served by WADO-RS, valid.
    detail = client.get(f"/api/studies/{study['study']}", headers=doctor).json()
    assert any(s["series_instance_uid"] == sr_series and s["modality"] == "SR"
               for s in detail["series"])  # fmt: skip
    wado = client.get(
        f"/dicom-web/studies/{study['study']}/series/{sr_series}/instances/{sr_uid}",
        headers={**doctor, "Accept": 'multipart/related; type="application/dicom"'},
    )
    assert wado.status_code == 200, wado.text
    (part,) = parse_multipart(wado.headers["content-type"], wado.content)
    ds = pydicom.dcmread(io.BytesIO(part[1]))
    assert ds.SOPClassUID == "1.2.840.10008.5.1.4.1.1.88.34"  # Comprehensive 3D SR
    assert ds.ContentTemplateSequence[0].TemplateIdentifier == "1500"
    assert ds.PatientID == "MRN-M1"
    assert dciodvfy_errors(part[1], tmp_path) == []


def test_a_save_replaces_the_last_and_saving_none_removes_it(
    client: TestClient, doctor: dict[str, str], study: dict[str, str]
) -> None:
    url = f"/api/studies/{study['study']}/measurements"
    first = client.put(url, json={"measurements": drawn(study)}, headers=doctor).json()
    second = client.put(url, json={"measurements": drawn(study)[:1]}, headers=doctor).json()
    assert second["series_instance_uid"] == first["series_instance_uid"]
    loaded = client.get(url, headers=doctor).json()
    assert loaded["sop_instance_uid"] == second["sop_instance_uid"]
    assert [m["tool"] for m in loaded["measurements"]] == ["Length"]
    series = client.get(
        f"/dicom-web/studies/{study['study']}/series/{first['series_instance_uid']}/instances",
        headers=doctor,
    ).json()
    assert [i["00080018"]["Value"][0] for i in series] == [second["sop_instance_uid"]]

    assert client.put(url, json={"measurements": []}, headers=doctor).status_code == 200
    assert client.get(url, headers=doctor).json()["measurements"] == []
    detail = client.get(f"/api/studies/{study['study']}", headers=doctor).json()
    assert [s["modality"] for s in detail["series"]] == ["CT"]


def test_refusals(
    client: TestClient, doctor: dict[str, str], study: dict[str, str],
    make_user: Callable[..., Any],
) -> None:  # fmt: skip
    url = f"/api/studies/{study['study']}/measurements"
    wrong = [{**drawn(study)[0], "sop_instance_uid": "1.2.3"}]
    refused = client.put(url, json={"measurements": wrong}, headers=doctor)
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "measurement_image_not_found"
    three = [{**drawn(study)[0], "points": [[1, 1], [2, 2], [3, 3]]}]
    assert client.put(url, json={"measurements": three}, headers=doctor).status_code == 422
    nul = [{**drawn(study)[4], "label": "a\x00b"}]
    assert client.put(url, json={"measurements": nul}, headers=doctor).status_code == 422
    missing = client.put("/api/studies/1.2.3/measurements", json={"measurements": []},
                         headers=doctor)  # fmt: skip
    assert missing.status_code == 404
    # A nurse views images but does not annotate them.
    nurse = login(client, make_user("nurse").username)
    assert client.get(url, headers=nurse).status_code == 200
    assert client.put(url, json={"measurements": []}, headers=nurse).status_code == 403


def test_reading_measurements_is_audited(
    client: TestClient, doctor: dict[str, str], study: dict[str, str]
) -> None:
    client.get(f"/api/studies/{study['study']}/measurements", headers=doctor)
    audit_service.flush_buffer()
    with transaction() as session:
        events = session.scalars(
            select(AuditEvent).where(AuditEvent.resource_id == study["study"])
        ).all()
    assert any(e.patient_id == "MRN-M1" and json.loads(e.detail).get("measurements")
               for e in events)  # fmt: skip
