"""Reports tests: a stored study and doctors who write and approve."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from fastapi.testclient import TestClient
from pydicom.uid import generate_uid

from hounsfield.ingest.service import ingest
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes


@pytest.fixture
def study_uid() -> str:
    uid = str(generate_uid())
    outcome = ingest(
        to_bytes(make_dataset(StudyInstanceUID=uid, AccessionNumber="R1", Modality="CT")),
        origin="test",
    )
    assert outcome.status == "stored", outcome
    return uid


@pytest.fixture
def doctors(client: TestClient, make_user: Callable[..., Any]) -> list[tuple[Any, dict[str, str]]]:
    """A resident (王医生) who writes and an attending (李主任) who approves."""
    wang = make_user("doctor", display_name="王医生")
    li = make_user("doctor", display_name="李主任")
    return [(wang, login(client, wang.username)), (li, login(client, li.username))]


def new_report(client: TestClient, headers: dict[str, str], study_uid: str, **body: Any) -> Any:
    response = client.post(
        "/api/reports", json={"study_instance_uid": study_uid, **body}, headers=headers
    )
    assert response.status_code == 201, response.text
    return response.json()
