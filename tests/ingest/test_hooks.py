"""ingest.hooks: the one place other domains react to stored instances."""

from __future__ import annotations

from pydicom.uid import generate_uid
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from hounsfield.db import transaction
from hounsfield.ingest import hooks
from hounsfield.ingest.service import ingest
from hounsfield.studies.models import Instance, Study
from tests.dicom_factory import make_dataset, to_bytes


def test_post_commit_hooks_see_new_rows_once_and_committed() -> None:
    study, series = generate_uid(), generate_uid()
    events: list[hooks.Stored] = []
    visible: list[int] = []

    def hook(event: hooks.Stored) -> None:
        events.append(event)
        with transaction() as session:  # another transaction sees the committed row
            visible.append(
                session.scalar(
                    select(func.count())
                    .select_from(Instance)
                    .where(Instance.sop_instance_uid == event.sop_instance_uid)
                )
                or 0
            )

    first = to_bytes(make_dataset(StudyInstanceUID=study, SeriesInstanceUID=series))
    second = to_bytes(
        make_dataset(StudyInstanceUID=study, SeriesInstanceUID=series, InstanceNumber=2)
    )
    other_series = to_bytes(make_dataset(StudyInstanceUID=study, Modality="MR"))
    with hooks.registered(stored=hook):
        assert ingest(first, origin="test").status == "stored"
        assert ingest(first, origin="test").status == "duplicate"  # no event for a re-send
        assert ingest(second, origin="test").status == "stored"
        assert ingest(other_series, origin="test").status == "stored"
    assert ingest(to_bytes(make_dataset()), origin="test").status == "stored"  # unregistered

    assert [(e.new_patient, e.new_study, e.new_series) for e in events] == [
        (True, True, True),
        (False, False, False),
        (False, False, True),
    ]
    assert visible == [1, 1, 1]
    assert {e.study_instance_uid for e in events} == {study}
    assert [e.modality for e in events] == ["CT", "CT", "MR"]
    assert events[0].origin == "test"
    assert events[0].patient_id == "P0001"
    assert len({e.study_pk for e in events}) == 1


def test_a_failing_post_commit_hook_does_not_fail_the_instance() -> None:
    def broken(event: hooks.Stored) -> None:
        raise RuntimeError("hook bug")

    seen: list[str] = []
    with hooks.registered(stored=broken), hooks.registered(stored=lambda e: seen.append("x")):
        outcome = ingest(to_bytes(make_dataset()), origin="test")
    assert outcome.status == "stored"
    assert seen == ["x"]  # the next hook still ran


def test_an_in_transaction_hook_commits_or_fails_with_the_instance() -> None:
    def mark(session: Session, event: hooks.Stored) -> None:
        study = session.get(Study, event.study_pk)
        assert study is not None
        study.study_description = "MARKED"

    ds = make_dataset()
    with hooks.registered(indexed=mark):
        assert ingest(to_bytes(ds), origin="test").status == "stored"
    with transaction() as session:
        description = session.scalar(
            select(Study.study_description).where(Study.study_instance_uid == ds.StudyInstanceUID)
        )
    assert description == "MARKED"

    def refuse(session: Session, event: hooks.Stored) -> None:
        raise RuntimeError("refuse")

    failed = make_dataset()
    with hooks.registered(indexed=refuse):
        outcome = ingest(to_bytes(failed), origin="test")
    assert outcome.status == "error"
    with transaction() as session:
        rows = session.scalar(
            select(func.count())
            .select_from(Instance)
            .where(Instance.sop_instance_uid == failed.SOPInstanceUID)
        )
    assert rows == 0
