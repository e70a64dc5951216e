"""The domain events that notify people (notifications/emitters.py): report approved and
amended, AI run finished, study assigned and new images of an assigned study, and the
report turnaround histogram. Each: the recipient gets exactly one notification of the kind,
the people not involved none, no title names the patient, a rolled-back change tells nobody.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import uuid
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from prometheus_client import REGISTRY
from pydicom.uid import generate_uid
from sqlalchemy import select
from sqlalchemy.orm import Session

from hounsfield.ai import runtime
from hounsfield.ai import service as ai_service
from hounsfield.ai.models import AiRun
from hounsfield.ai.schemas import ModelUpdate
from hounsfield.db import transaction, utcnow
from hounsfield.ingest import hooks
from hounsfield.ingest.service import ingest
from hounsfield.notifications import emitters
from hounsfield.notifications.models import Notification, NotificationEvent
from hounsfield.notifications.service import Kind
from hounsfield.orders import service as orders_service
from hounsfield.orders.models import Order
from hounsfield.patients.models import PatientRecord
from hounsfield.reports import service as reports
from hounsfield.reports.metrics import modality_label
from hounsfield.studies.models import Series, Study
from hounsfield.studies.service import transfer
from hounsfield.worker import shutdown_local_pool
from hounsfield.worklist import service as worklist
from tests.ai.helpers import brightness_classifier, ct_series, manifest, upload
from tests.conftest import login
from tests.dicom_factory import make_dataset, to_bytes
from tests.notifications.conftest import PATIENT

ACCESSION = "ACC42"


class Rollback(Exception):
    pass


def _then_fail(work: Callable[[Session], object]) -> None:
    with transaction(write=True) as session:
        work(session)
        raise Rollback


def rolled_back(work: Callable[[Session], object]) -> None:
    """`work(session)` in a transaction that then fails (and rolls back)."""
    with pytest.raises(Rollback):
        _then_fail(work)


def store_study(origin: str = "test", **attributes: Any) -> str:
    uid = attributes.pop("StudyInstanceUID", None) or str(generate_uid())
    fields = {"PatientName": PATIENT, "AccessionNumber": ACCESSION, **attributes}
    outcome = ingest(to_bytes(make_dataset(StudyInstanceUID=uid, **fields)), origin=origin)
    assert outcome.status == "stored", outcome
    return uid


def events(user: Any, kind: Kind) -> list[NotificationEvent]:
    """The events of `kind` in the user's in-app list."""
    with transaction() as session:
        return list(
            session.scalars(
                select(NotificationEvent)
                .join(Notification, Notification.event_id == NotificationEvent.id)
                .where(Notification.user_id == user.id, NotificationEvent.kind == kind.value)
            )
        )


def all_titles(kind: Kind) -> list[str]:
    with transaction() as session:
        return list(session.scalars(select(NotificationEvent.title).where(
            NotificationEvent.kind == kind.value)))  # fmt: skip


def turnaround_count(modality: str, priority: str) -> float:
    value = REGISTRY.get_sample_value(
        "hounsfield_report_turnaround_seconds_count",
        {"modality": modality, "priority": priority},
    )
    return value or 0.0


def order_for(study_uid: str, ordering_doctor: str, priority: str = "urgent") -> None:
    """An order naming `ordering_doctor`, matched to the study (its priority copied on)."""
    with transaction(write=True) as session:
        record = PatientRecord(mrn=f"M{generate_uid()[-8:]}", name_ideographic="张^三丰")
        session.add(record)
        session.flush()
        order = Order(
            patient_id=record.id, accession_number=f"HF{generate_uid()[-10:]}",
            procedure="CT 胸部平扫", modality="CT", priority=priority,
            ordering_doctor=ordering_doctor, scheduled_at=utcnow(),
        )  # fmt: skip
        session.add(order)
        session.flush()
        orders_service.match(session, None, order.id, study_uid)


def signed_report(author: Any, approver: Any, study_uid: str) -> Any:
    with transaction(write=True) as session:
        report = reports.create(session, author, study_uid, None)
        reports.submit(session, author, report.id)
    with transaction(write=True) as session:
        return reports.approve(session, approver, report.id)


# -- report_approved and the turnaround -------------------------------------------------------


def test_an_approval_tells_the_ordering_doctor_and_the_author_and_counts_its_turnaround(
    make_user: Callable[..., Any],
) -> None:
    author, approver = make_user("doctor"), make_user("doctor")
    clinician = make_user("doctor", display_name="李医生")  # the order names 李^医生
    bystander = make_user("doctor")
    study_uid = store_study()
    order_for(study_uid, "李^医生", priority="urgent")
    before = turnaround_count("CT", "urgent")

    report = signed_report(author, approver, study_uid)

    for user in (clinician, author):
        (event,) = events(user, Kind.report_approved)
        assert event.title == f"报告已审核：检查号 {ACCESSION}"
        assert event.link == f"/viewer/?study={study_uid}"
    assert events(approver, Kind.report_approved) == []
    assert events(bystander, Kind.report_approved) == []
    assert turnaround_count("CT", "urgent") == before + 1

    with transaction(write=True) as session:
        reports.amend(session, approver, report.id, kind="addendum", reason="补充",
                      addendum="建议复查。")  # fmt: skip
    for user in (clinician, author):
        titles = {e.title for e in events(user, Kind.report_approved)}
        assert titles == {f"报告已审核：检查号 {ACCESSION}", f"报告已修订：检查号 {ACCESSION}"}
        amended = [e for e in events(user, Kind.report_approved) if "修订" in e.title]
        assert json.loads(amended[0].params)["variant"] == "amended"
    assert events(bystander, Kind.report_approved) == []
    assert turnaround_count("CT", "urgent") == before + 1  # an amendment is no turnaround
    assert all(PATIENT not in t and "Zhang" not in t for t in all_titles(Kind.report_approved))


def test_an_ordering_doctor_who_is_no_user_or_two_users_hears_nothing(
    make_user: Callable[..., Any],
) -> None:
    author, approver = make_user("doctor"), make_user("doctor")
    twins = [make_user("doctor", display_name="张医生") for _ in range(2)]
    named = make_user("doctor", username="dr_wu")
    for ordering_doctor, expected in (("张医生", None), ("外院医生", None), ("dr_wu", named)):
        study_uid = store_study()
        order_for(study_uid, ordering_doctor)
        signed_report(author, approver, study_uid)
        with transaction() as session:
            found = emitters.ordering_user(session, study_uid)
        assert found == (expected.id if expected else None)
    assert [len(events(t, Kind.report_approved)) for t in twins] == [0, 0]
    assert len(events(named, Kind.report_approved)) == 1
    assert len(events(author, Kind.report_approved)) == 3


def test_a_rolled_back_approval_notifies_nobody_and_counts_nothing(
    make_user: Callable[..., Any],
) -> None:
    author, approver = make_user("doctor"), make_user("doctor")
    clinician = make_user("doctor", display_name="李医生")
    study_uid = store_study(Modality="MR")
    order_for(study_uid, "李医生", priority="stat")
    with transaction(write=True) as session:
        report = reports.create(session, author, study_uid, None)
    before = turnaround_count("MR", "stat")
    rolled_back(lambda session: reports.approve(session, approver, report.id))
    assert events(clinician, Kind.report_approved) == []
    assert events(author, Kind.report_approved) == []
    assert turnaround_count("MR", "stat") == before
    with transaction(write=True) as session:  # the same approval, committed: counted once
        reports.approve(session, approver, report.id)
    assert turnaround_count("MR", "stat") == before + 1
    assert len(events(clinician, Kind.report_approved)) == 1


def test_the_turnaround_labels_are_bounded() -> None:
    assert modality_label("CT\\SR") == "CT"
    assert modality_label("SR\\MR") == "MR"
    assert modality_label("XYZ") == "other"
    assert modality_label("") == "other"


def test_the_turnaround_histogram_is_summed_over_processes(tmp_path: Path) -> None:
    """Multiprocess mode (monitoring/multiproc.py): two processes observe, a third reads."""
    env = {**os.environ, "PROMETHEUS_MULTIPROC_DIR": str(tmp_path),
           "PYTHONPATH": os.pathsep.join(sys.path)}  # fmt: skip
    observe = ("from hounsfield.reports.metrics import TURNAROUND; "
               "TURNAROUND.labels('CT', 'stat').observe(600)")  # fmt: skip
    for _ in range(2):
        subprocess.run([sys.executable, "-c", observe], env=env, check=True, timeout=120)
    read = (
        "from prometheus_client import CollectorRegistry, generate_latest\n"
        "from prometheus_client.multiprocess import MultiProcessCollector\n"
        "r = CollectorRegistry(); MultiProcessCollector(r)\n"
        "print(generate_latest(r).decode())"
    )
    out = subprocess.run([sys.executable, "-c", read], env=env, check=True, timeout=120,
                         capture_output=True, text=True).stdout  # fmt: skip
    assert 'hounsfield_report_turnaround_seconds_count{modality="CT",priority="stat"} 2.0' in out
    assert ('hounsfield_report_turnaround_seconds_bucket{le="900.0",modality="CT",'
            'priority="stat"} 2.0') in out  # fmt: skip


# -- ai_result_ready ------------------------------------------------------------------------


@pytest.fixture
def classifier(client: TestClient, auth_headers: Callable[..., dict[str, str]]) -> str:
    runtime.sessions.clear()
    response = upload(client, auth_headers("admin"), manifest("bright", "classification"),
                      brightness_classifier())  # fmt: skip
    assert response.status_code == 201, response.text
    return str(response.json()["id"])


def _store(datasets: list[Any]) -> str:
    for ds in datasets:
        assert ingest(to_bytes(ds), origin="test").ok
    return str(datasets[0].StudyInstanceUID)


def test_an_ai_run_tells_whoever_asked_for_it_and_a_failure_says_so(
    client: TestClient, make_user: Callable[..., Any], classifier: str
) -> None:
    requester, bystander = make_user("doctor"), make_user("doctor")
    headers = login(client, requester.username)
    ct = _store(ct_series(slices=1, PatientName=PATIENT, AccessionNumber=ACCESSION))
    mr = _store(ct_series(slices=1, Modality="MR", PatientName=PATIENT, AccessionNumber="MR7"))
    for study_uid in (ct, mr):
        started = client.post(
            "/api/ai/diagnose",
            headers=headers,
            json={"study_instance_uid": study_uid, "model": classifier},
        )
        assert started.status_code == 202, started.text
    shutdown_local_pool(wait=True)  # the runs ran
    with transaction() as session:
        statuses = dict(session.execute(select(AiRun.study_instance_uid, AiRun.status)).all())
    assert statuses == {ct: "succeeded", mr: "failed"}
    titles = {e.title for e in events(requester, Kind.ai_result_ready)}
    assert titles == {"AI 分析失败：检查号 MR7", f"AI 结果已就绪：检查号 {ACCESSION}"}
    assert events(bystander, Kind.ai_result_ready) == []
    assert all(PATIENT not in t for t in all_titles(Kind.ai_result_ready))


def test_an_automatic_run_tells_the_assignee(
    make_user: Callable[..., Any], classifier: str
) -> None:
    admin, reader, bystander = make_user("admin"), make_user("doctor"), make_user("doctor")
    study_uid = _store(ct_series(slices=1, PatientName=PATIENT, AccessionNumber=ACCESSION))
    shutdown_local_pool(wait=True)  # its series refresh ran, with no model to start
    with transaction(write=True) as session:
        ai_service.update_model(session, None, classifier, ModelUpdate(auto_run=True))
        worklist.assign(session, admin, study_uid, reader.id)
    # A second series arrives: its refresh starts the model, the run tells the assignee.
    second = ct_series(slices=1, PatientName=PATIENT, AccessionNumber=ACCESSION)
    second[0].StudyInstanceUID = study_uid
    _store(second)
    shutdown_local_pool(wait=True)  # the refresh ran and queued the run
    shutdown_local_pool(wait=True)  # the run ran
    with transaction() as session:
        assert session.scalars(select(AiRun.triggered_by)).all() == ["auto"]
    (event,) = events(reader, Kind.ai_result_ready)
    assert event.title == f"AI 结果已就绪：检查号 {ACCESSION}"
    assert events(bystander, Kind.ai_result_ready) == []
    assert events(admin, Kind.ai_result_ready) == []


def test_an_ai_notification_rolled_back_with_its_run_reaches_nobody(
    make_user: Callable[..., Any],
) -> None:
    requester = make_user("doctor")
    study_uid = store_study()
    run = AiRun(
        model_version_id=uuid.uuid4(),
        study_instance_uid=study_uid,
        triggered_by="manual",
        requested_by=requester.username,
        status="succeeded",
    )

    def finish(session: Session) -> None:
        emitters.ai_run_finished(session, run)
        assert len(session.scalars(select(Notification)).all()) == 1  # written, in here

    rolled_back(finish)
    assert events(requester, Kind.ai_result_ready) == []


# -- study_arrived_for_assignee -------------------------------------------------------------


def test_an_assignment_tells_the_assignee_once(make_user: Callable[..., Any]) -> None:
    head, reader, bystander = make_user("admin"), make_user("doctor"), make_user("doctor")
    study_uid = store_study()
    with transaction(write=True) as session:
        worklist.assign(session, head, study_uid, reader.id)
    with transaction(write=True) as session:  # the same assignment again: no news
        worklist.assign(session, head, study_uid, reader.id)
    (event,) = events(reader, Kind.study_arrived_for_assignee)
    assert event.title == f"新检查已分配给您：检查号 {ACCESSION}"
    assert PATIENT not in event.title
    assert event.link == f"/viewer/?study={study_uid}"
    assert events(bystander, Kind.study_arrived_for_assignee) == []
    assert events(head, Kind.study_arrived_for_assignee) == []
    with transaction(write=True) as session:  # taking it oneself tells nobody
        worklist.assign(session, bystander, study_uid, bystander.id)
    assert events(bystander, Kind.study_arrived_for_assignee) == []
    with transaction(write=True) as session:
        worklist.assign(session, head, study_uid, None)
    rolled_back(lambda session: worklist.assign(session, head, study_uid, reader.id))
    assert len(events(reader, Kind.study_arrived_for_assignee)) == 1


def _more_images(study_uid: str, count: int, origin: str) -> None:
    with transfer():  # one request or association
        for _ in range(count):
            fields = {"PatientName": PATIENT, "AccessionNumber": ACCESSION}
            outcome = ingest(to_bytes(make_dataset(StudyInstanceUID=study_uid, **fields)),
                             origin=origin)  # fmt: skip
            assert outcome.status == "stored", outcome


def test_new_images_of_an_assigned_study_tell_the_assignee_once_per_transfer(
    make_user: Callable[..., Any],
) -> None:
    reader, bystander = make_user("doctor"), make_user("doctor")
    assigned, unassigned = store_study(), store_study()
    with transaction(write=True) as session:
        worklist.assign(session, reader, assigned, reader.id)  # their own: no notification
    assert events(reader, Kind.study_arrived_for_assignee) == []

    _more_images(assigned, 3, "dimse:CT1")
    assert len(events(reader, Kind.study_arrived_for_assignee)) == 1
    _more_images(assigned, 2, "stow")  # a second transfer: a second arrival
    _more_images(unassigned, 2, "stow")
    _more_images(assigned, 2, "report")  # the archive's own objects are no arrival
    arrivals = events(reader, Kind.study_arrived_for_assignee)
    assert len(arrivals) == 2
    assert {e.title for e in arrivals} == {f"新检查已分配给您：检查号 {ACCESSION}"}
    assert events(bystander, Kind.study_arrived_for_assignee) == []


def test_the_assignee_is_not_told_of_images_they_sent_themselves(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    """Through STOW-RS as a signed-in user: their own images tell them nothing; another
    user's STOW and an upload with no user (a modality) still do."""
    from tests.dicomweb.helpers import multipart_body

    reader = make_user(["doctor", "technician"])
    colleague = make_user("technician")
    study_uid = store_study()
    with transaction(write=True) as session:
        worklist.assign(session, reader, study_uid, reader.id)

    def stow_as(user: Any) -> None:
        fields: dict[str, Any] = {"PatientName": PATIENT, "AccessionNumber": ACCESSION}
        body, content_type = multipart_body(
            [to_bytes(make_dataset(StudyInstanceUID=study_uid, **fields))]
        )
        headers = {**login(client, user.username), "Content-Type": content_type,
                   "Accept": "application/dicom+json"}  # fmt: skip
        response = client.post("/dicom-web/studies", content=body, headers=headers)
        assert response.status_code == 200, response.text

    stow_as(reader)
    assert events(reader, Kind.study_arrived_for_assignee) == []
    stow_as(colleague)
    assert len(events(reader, Kind.study_arrived_for_assignee)) == 1
    _more_images(study_uid, 1, "dimse:CT1")
    assert len(events(reader, Kind.study_arrived_for_assignee)) == 2
    assert events(colleague, Kind.study_arrived_for_assignee) == []


def test_an_instance_that_is_rolled_back_is_no_arrival(make_user: Callable[..., Any]) -> None:
    reader = make_user("doctor")
    study_uid = store_study()
    with transaction(write=True) as session:
        worklist.assign(session, reader, study_uid, reader.id)

    def refuse(session: Any, event: hooks.Stored) -> None:
        raise RuntimeError("the index transaction fails")

    with hooks.registered(indexed=refuse), transfer():
        ds = make_dataset(StudyInstanceUID=study_uid, PatientName=PATIENT)
        assert not ingest(to_bytes(ds), origin="stow").ok
    assert events(reader, Kind.study_arrived_for_assignee) == []
    with transaction() as session:
        count = session.scalar(select(Study.number_of_instances).where(
            Study.study_instance_uid == study_uid))  # fmt: skip
        assert count == 1
        assert session.scalar(select(Series.id).limit(1)) is not None
