"""One audit event per transfer naming its instances (issue 15: the sealer's cost; DICOM
A.5 allows several participant objects): a STOW-RS request, a DIMSE association."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select

from hounsfield.audit import service
from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from tests.dicom_factory import make_dataset, to_bytes, write_dicom
from tests.dicomweb.helpers import multipart_body
from tests.dimse.conftest import free_port, run


def _stores() -> list[AuditEvent]:
    service.flush_buffer()
    with transaction() as session:
        query = select(AuditEvent).where(AuditEvent.action == "image.store")
        return list(session.scalars(query.order_by(AuditEvent.id)))


def test_a_stow_request_is_one_event_naming_its_instances(
    client: TestClient, auth_headers: Any
) -> None:
    first = make_dataset()
    others = [
        make_dataset(
            StudyInstanceUID=first.StudyInstanceUID, SeriesInstanceUID=first.SeriesInstanceUID
        )
        for _ in range(4)
    ]
    datasets = [first, *others]
    body, content_type = multipart_body([to_bytes(ds) for ds in datasets])
    headers = {**auth_headers("technician"), "Content-Type": content_type}
    assert client.post("/dicom-web/studies", content=body, headers=headers).status_code == 200
    stores = _stores()
    assert len(stores) == 1
    detail = json.loads(stores[0].detail)
    assert sorted(detail["instances"]) == sorted(ds.SOPInstanceUID for ds in datasets)
    assert stores[0].resource_id == first.StudyInstanceUID
    assert stores[0].patient_id == first.PatientID
    service.seal_all()
    with transaction() as session:
        assert service.verify(session).ok


def test_two_requests_are_two_events(client: TestClient, auth_headers: Any) -> None:
    headers = auth_headers("technician")
    for _ in range(2):
        body, content_type = multipart_body([to_bytes(make_dataset())])
        reply = client.post(
            "/dicom-web/studies", content=body, headers={**headers, "Content-Type": content_type}
        )
        assert reply.status_code == 200
    assert [len(json.loads(e.detail)["instances"]) for e in _stores()] == [1, 1]


@pytest.fixture
def listener(settings_env: Callable[..., None]) -> Iterator[Any]:
    from hounsfield.config import get_settings
    from hounsfield.dimse.scp import DicomListener

    settings_env(HOUNSFIELD_DICOM__PORT=str(free_port()), HOUNSFIELD_DICOM__AE_TITLE="HOUNSFIELD")
    server = DicomListener(get_settings())
    server.start()
    try:
        yield server
    finally:
        server.stop(grace_s=5)


def test_an_association_is_one_event_naming_its_instances(listener: Any, tmp_path: Path) -> None:
    study = make_dataset()
    paths = [
        write_dicom(tmp_path, StudyInstanceUID=study.StudyInstanceUID, PatientID="P-BATCH")
        for _ in range(3)
    ]
    result = run(["/usr/bin/storescu", "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                  "127.0.0.1", str(listener.port), *map(str, paths)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    stores = _stores()
    assert len(stores) == 1
    assert len(json.loads(stores[0].detail)["instances"]) == 3
    assert stores[0].actor_username == "ae:MODALITY"


def test_the_sealer_does_not_split_a_transfer_still_storing() -> None:
    from hounsfield.audit.service import Anonymous

    def store(uid: str) -> None:
        with transaction() as session:
            service.record(
                session, "image.store", Anonymous("ae:CT"), resource_type="study",
                resource_id="1.2.3", detail={"sop_instance_uid": uid, "origin": "dimse"},
            )  # fmt: skip

    with service.batch():
        store("1.2.3.1")
        assert service.flush_buffer(hold_batches=True) == 0  # the sealer waits
        store("1.2.3.2")
    assert service.flush_buffer() == 1
    assert json.loads(_stores()[0].detail)["instances"] == ["1.2.3.1", "1.2.3.2"]


def test_a_rolled_back_store_is_not_audited() -> None:
    from hounsfield.audit.service import Anonymous

    def failing_store() -> None:
        with transaction() as session:
            service.record(
                session, "image.store", Anonymous("ae:CT"), resource_type="study",
                resource_id="1.2.3", detail={"sop_instance_uid": "1.2.3.9", "origin": "dimse"},
            )  # fmt: skip
            raise RuntimeError("the index transaction failed")

    with service.batch(), pytest.raises(RuntimeError, match="index transaction"):
        failing_store()
    assert _stores() == []
