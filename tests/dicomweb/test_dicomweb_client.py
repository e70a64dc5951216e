"""A real DICOMweb client (dicomweb-client) against a live uvicorn server: store, search,
retrieve (instances, metadata, frames, rendered, bulk data)."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import requests
from dicomweb_client.api import DICOMwebClient

from tests.conftest import TEST_PASSWORD
from tests.dicom_factory import make_dataset
from tests.dicomweb.helpers import read_dataset, sample_file


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.fixture
def live_server(database: str, data_dir: Path) -> Iterator[str]:
    """The app under uvicorn on a free port, on the test database."""
    port = _free_port()
    env = {**os.environ, "HOUNSFIELD_LOG_LEVEL": "WARNING"}
    process = subprocess.Popen(
        [sys.executable, "-m", "uvicorn", "hounsfield.app:create_app", "--factory",
         "--host", "127.0.0.1", "--port", str(port), "--log-level", "warning"],
        env=env,
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(300):  # wait until it answers (bounded), not a timed assertion
            if process.poll() is not None:
                raise RuntimeError("uvicorn exited")
            try:
                if requests.get(f"{url}/healthz", timeout=10).status_code == 200:
                    break
            except requests.RequestException:  # refused, or slow on a loaded machine
                time.sleep(0.1)
        else:
            raise RuntimeError("uvicorn did not start")
        yield url
    finally:
        process.terminate()
        process.wait(timeout=30)


@pytest.fixture
def dicomweb(live_server: str, make_user: Callable[..., Any]) -> DICOMwebClient:
    user = make_user("technician")
    response = requests.post(
        f"{live_server}/api/auth/login",
        json={"username": user.username, "password": TEST_PASSWORD},
        timeout=10,
    )
    token = response.json()["access_token"]
    return DICOMwebClient(
        url=f"{live_server}/dicom-web", headers={"Authorization": f"Bearer {token}"}
    )


# The client library against a real server; the same STOW, QIDO (matching, paging) and
# WADO SQL runs on every database in test_wado_qido_stow.py and test_retrieve.py.
@pytest.mark.once
def test_dicomweb_client_stores_searches_and_retrieves(
    dicomweb: DICOMwebClient, live_server: str
) -> None:
    ct = read_dataset(sample_file("CT_small.dcm"))
    jpeg = read_dataset(sample_file("SC_rgb_jpeg_dcmtk.dcm"))
    extra = make_dataset(
        StudyInstanceUID=ct.StudyInstanceUID, PatientID=ct.PatientID, PatientName=ct.PatientName
    )
    result = dicomweb.store_instances([ct, jpeg, extra])
    stored = {item.ReferencedSOPInstanceUID for item in result.ReferencedSOPSequence}
    assert stored == {ct.SOPInstanceUID, jpeg.SOPInstanceUID, extra.SOPInstanceUID}
    assert "FailedSOPSequence" not in result

    studies = dicomweb.search_for_studies(search_filters={"PatientID": ct.PatientID})
    assert [s["0020000D"]["Value"][0] for s in studies] == [ct.StudyInstanceUID]
    assert studies[0]["00201208"]["Value"] == [2]
    series = dicomweb.search_for_series(ct.StudyInstanceUID)
    assert {s["0020000E"]["Value"][0] for s in series} == {
        ct.SeriesInstanceUID,
        extra.SeriesInstanceUID,
    }
    instances = dicomweb.search_for_instances(ct.StudyInstanceUID, ct.SeriesInstanceUID)
    assert [i["00080018"]["Value"][0] for i in instances] == [ct.SOPInstanceUID]
    paged = dicomweb.search_for_studies(limit=1, get_remaining=True)
    assert len(paged) == 2

    retrieved = dicomweb.retrieve_study(ct.StudyInstanceUID)
    assert {d.SOPInstanceUID for d in retrieved} == {ct.SOPInstanceUID, extra.SOPInstanceUID}
    instance = dicomweb.retrieve_instance(
        ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID
    )
    assert np.array_equal(instance.pixel_array, ct.pixel_array)

    metadata = dicomweb.retrieve_series_metadata(ct.StudyInstanceUID, ct.SeriesInstanceUID)
    assert metadata[0]["00080018"]["Value"] == [ct.SOPInstanceUID]
    frames = dicomweb.retrieve_instance_frames(
        ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID, frame_numbers=[1]
    )
    assert frames[0] == ct.PixelData
    compressed = dicomweb.retrieve_instance_frames(
        jpeg.StudyInstanceUID,
        jpeg.SeriesInstanceUID,
        jpeg.SOPInstanceUID,
        frame_numbers=[1],
        media_types=(("image/jpeg", "1.2.840.10008.1.2.4.50"),),
    )
    assert compressed[0].startswith(b"\xff\xd8")
    rendered = dicomweb.retrieve_instance_rendered(
        ct.StudyInstanceUID, ct.SeriesInstanceUID, ct.SOPInstanceUID,
        media_types=("image/png",), params={"window": "40,400,linear"},
    )  # fmt: skip
    assert rendered.startswith(b"\x89PNG")
    # BulkDataURIs are absolute (PS3.18 F.2.6). dicomweb-client sends its Host header
    # without the port, so the one it got names port 80; a client with a proper Host
    # header (or the configured public base URL) gets the fetchable one.
    assert metadata[0]["7FE00010"]["BulkDataURI"].startswith("http://127.0.0.1/dicom-web/")
    own = requests.get(
        f"{live_server}/dicom-web/studies/{ct.StudyInstanceUID}/series/{ct.SeriesInstanceUID}"
        "/metadata",
        headers={"Authorization": dicomweb._session.headers["Authorization"]},
        timeout=30,
    ).json()
    bulk_uri = own[0]["7FE00010"]["BulkDataURI"]
    assert bulk_uri.startswith(f"{live_server}/dicom-web/studies/{ct.StudyInstanceUID}/")
    bulk = dicomweb.retrieve_bulkdata(bulk_uri)
    assert bulk[0] == ct.PixelData
