"""Our SCU: send a study to a device (job), query a remote node, retrieve priors (C-MOVE)."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom import dcmread
from pynetdicom import AE, evt

from hounsfield.dimse import archive
from hounsfield.dimse.common import (
    StudyRootQueryRetrieveInformationModelFind,
    StudyRootQueryRetrieveInformationModelMove,
)
from hounsfield.ingest.service import ingest
from tests.dicom_factory import make_dataset, to_bytes
from tests.dimse.conftest import StoreSCP, free_port

STUDY = "1.2.826.0.1.3680043.10.7.1"
SERIES = ("1.2.826.0.1.3680043.10.7.2", "1.2.826.0.1.3680043.10.7.3")


@pytest.fixture
def study() -> list[str]:
    uids = []
    for series in SERIES:
        for number in (1, 2):
            ds = make_dataset(StudyInstanceUID=STUDY, SeriesInstanceUID=series,
                              InstanceNumber=number, PatientID="SEND1")  # fmt: skip
            assert ingest(to_bytes(ds), origin="test").status == "stored"
            uids.append(str(ds.SOPInstanceUID))
    return uids


def wait_job(client: TestClient, job_id: str, headers: dict[str, str]) -> dict[str, Any]:
    """Poll the job until it is finished (a readiness wait, not a timing assertion)."""
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        job = client.get(f"/api/dimse/jobs/{job_id}", headers=headers).json()
        if job["status"] in ("completed", "partial", "failed"):
            return dict(job)
        time.sleep(0.05)
    raise AssertionError("job never finished")


def _device(client: TestClient, headers: dict[str, str], **fields: Any) -> str:
    response = client.post("/api/devices", json=fields, headers=headers)
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def test_send_study_to_a_storescp(
    client: TestClient, auth_headers: Callable[..., Any], storescp: StoreSCP, study: list[str]
) -> None:
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title=storescp.ae_title, host="127.0.0.1",
                        port=storescp.port, operations=["store"])  # fmt: skip
    response = client.post(f"/api/studies/{STUDY}/send", json={"device_id": device_id},
                           headers=admin)  # fmt: skip
    assert response.status_code == 202, response.text
    assert response.json()["total"] == 4
    job = wait_job(client, response.json()["id"], admin)
    assert job["status"] == "completed", job
    assert (job["completed"], job["failed"]) == (4, 0)
    received = sorted(str(dcmread(p).SOPInstanceUID) for p in storescp.files())
    assert received == sorted(study)


def test_send_one_series(
    client: TestClient, auth_headers: Callable[..., Any], storescp: StoreSCP, study: list[str]
) -> None:
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title=storescp.ae_title, host="127.0.0.1",
                        port=storescp.port)  # fmt: skip
    body = {"device_id": device_id, "series_instance_uid": SERIES[1]}
    job = client.post(f"/api/studies/{STUDY}/send", json=body, headers=admin).json()
    assert wait_job(client, job["id"], admin)["completed"] == 2
    assert len(storescp.files()) == 2


def test_send_to_an_unreachable_device_fails_after_retries(
    client: TestClient, auth_headers: Callable[..., Any], study: list[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    from hounsfield.dimse import tasks

    monkeypatch.setattr(tasks, "RETRY_DELAYS_S", (0.0,))
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title="NOBODY", host="127.0.0.1", port=free_port())
    job = client.post(f"/api/studies/{STUDY}/send", json={"device_id": device_id},
                      headers=admin).json()  # fmt: skip
    done = wait_job(client, job["id"], admin)
    assert done["status"] == "failed"
    assert done["attempts"] == tasks.MAX_ATTEMPTS
    assert done["error"]


def test_send_permissions_and_unknowns(
    client: TestClient, auth_headers: Callable[..., Any], study: list[str]
) -> None:
    admin, nurse = auth_headers("admin"), auth_headers("nurse")
    device_id = _device(client, admin, ae_title="PACS2", host="127.0.0.1", port=104)
    body = {"device_id": device_id}
    assert client.post(f"/api/studies/{STUDY}/send", json=body, headers=nurse).status_code == 403
    missing = client.post("/api/studies/1.2.3.999/send", json=body, headers=admin)
    assert missing.status_code == 404
    other = {"device_id": "00000000-0000-0000-0000-000000000000"}
    assert client.post(f"/api/studies/{STUDY}/send", json=other, headers=admin).status_code == 404


def test_query_a_remote_node(
    client: TestClient, auth_headers: Callable[..., Any], listener: Any, study: list[str]
) -> None:
    """Our own listener plays the remote PACS: it knows us (AE HOUNSFIELD) as a device."""
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title="HOUNSFIELD", host="127.0.0.1",
                        port=listener.port, operations=["find", "move"])  # fmt: skip
    body = {"level": "SERIES", "filters": {"StudyInstanceUID": STUDY},
            "return_keys": ["SeriesInstanceUID", "Modality"]}  # fmt: skip
    response = client.post(f"/api/devices/{device_id}/query", json=body, headers=admin)
    assert response.status_code == 200, response.text
    result = response.json()
    assert result["status"] == 0
    assert sorted(item["SeriesInstanceUID"] for item in result["items"]) == sorted(SERIES)
    bad = {"level": "STUDY", "filters": {"NotAKeyword": "x"}}
    assert (
        client.post(f"/api/devices/{device_id}/query", json=bad, headers=admin).status_code == 422
    )


@pytest.fixture
def remote_pacs(listener: Any) -> Iterator[tuple[int, str]]:
    """A pynetdicom Q/R SCP ("REMOTEPACS") holding one prior, moving it to HOUNSFIELD."""
    prior = make_dataset(PatientID="PRIOR1", StudyDescription="prior")
    prior_study = str(prior.StudyInstanceUID)

    def on_move(event: Any) -> Iterator[Any]:
        if event.move_destination.strip() != b"HOUNSFIELD".decode():
            yield None, None
            return
        yield "127.0.0.1", listener.port
        matches = [prior] if event.identifier.StudyInstanceUID == prior_study else []
        yield len(matches)
        for ds in matches:
            yield 0xFF00, ds

    ae = AE(ae_title="REMOTEPACS")
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelMove)
    ae.add_supported_context(StudyRootQueryRetrieveInformationModelFind)
    ae.add_requested_context(prior.SOPClassUID, prior.file_meta.TransferSyntaxUID)
    port = free_port()
    server = ae.start_server(("127.0.0.1", port), block=False,
                             evt_handlers=[(evt.EVT_C_MOVE, on_move)])  # fmt: skip
    try:
        yield port, prior_study
    finally:
        server.shutdown()


def test_retrieve_priors_from_a_remote_node(
    client: TestClient, auth_headers: Callable[..., Any], remote_pacs: tuple[int, str]
) -> None:
    port, prior_study = remote_pacs
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title="REMOTEPACS", host="127.0.0.1", port=port,
                        operations=["store", "find", "move"])  # fmt: skip
    response = client.post(f"/api/devices/{device_id}/retrieve",
                           json={"study_instance_uid": prior_study}, headers=admin)  # fmt: skip
    assert response.status_code == 202, response.text
    job = wait_job(client, response.json()["id"], admin)
    assert job["status"] == "completed", job
    assert job["completed"] == 1
    with_prior = client.get("/api/studies", params={"patient_id": "PRIOR1"}, headers=admin)
    if with_prior.status_code == 200:  # the archive's studies API, when mounted
        assert with_prior.json()["total"] == 1
    from hounsfield.db import transaction

    with transaction() as session:
        rows = archive.search(session, "STUDY", {"StudyInstanceUID": prior_study})
    assert len(rows) == 1


def test_retrieve_needs_image_create(client: TestClient, auth_headers: Callable[..., Any]) -> None:
    admin, doctor = auth_headers("admin"), auth_headers("doctor")
    device_id = _device(client, admin, ae_title="REMOTEPACS", host="127.0.0.1", port=104)
    response = client.post(f"/api/devices/{device_id}/retrieve",
                           json={"study_instance_uid": "1.2.3"}, headers=doctor)  # fmt: skip
    assert response.status_code == 403


def test_remote_query_always_asks_for_the_unique_keys(
    client: TestClient, auth_headers: Callable[..., Any], listener: Any, study: list[str]
) -> None:
    """#12.8: matches name the level's unique key (and its parents'), so they can be moved."""
    admin = auth_headers("admin")
    device_id = _device(client, admin, ae_title="HOUNSFIELD", host="127.0.0.1",
                        port=listener.port, operations=["find", "move"])  # fmt: skip
    body = {"level": "STUDY", "filters": {"PatientID": "SEND1"},
            "return_keys": ["StudyDescription"]}  # fmt: skip
    result = client.post(f"/api/devices/{device_id}/query", json=body, headers=admin).json()
    assert [item["StudyInstanceUID"] for item in result["items"]] == [STUDY]
    body = {"level": "SERIES", "model": "patient",
            "filters": {"PatientID": "SEND1", "StudyInstanceUID": STUDY}}  # fmt: skip
    result = client.post(f"/api/devices/{device_id}/query", json=body, headers=admin).json()
    assert sorted(item["SeriesInstanceUID"] for item in result["items"]) == sorted(SERIES)
    assert {item["PatientID"] for item in result["items"]} == {"SEND1"}
