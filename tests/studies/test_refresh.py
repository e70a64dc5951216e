"""The one debounce of series refreshes: a transfer holds its refresh until it ends."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.studies import derived, service
from hounsfield.studies import refs as lookup
from hounsfield.studies.models import Series
from hounsfield.studies.service import transfer
from hounsfield.worker import OutboxEntry, shutdown_local_pool
from tests.dicom_factory import make_dataset, to_bytes


def refresh_rows(series_uid: str) -> list[OutboxEntry]:
    """The outbox rows of `studies.refresh_series` (one per queued refresh) of a series."""
    with transaction() as session:
        rows = session.scalars(
            select(OutboxEntry).where(OutboxEntry.task_name == "studies.refresh_series")
        ).all()
    return [row for row in rows if series_uid in row.kwargs]


def document_of(series_uid: str) -> tuple[int, bool]:
    with transaction() as session:
        series = lookup.series_by_uid(session, series_uid)
    assert series is not None
    path = derived._series_path(series_uid, series.metadata_version)
    return series.number_of_instances, path.exists()


def test_a_burst_in_one_transfer_queues_one_refresh_sent_at_its_end() -> None:
    first = make_dataset()
    same = {
        "StudyInstanceUID": first.StudyInstanceUID,
        "SeriesInstanceUID": first.SeriesInstanceUID,
    }
    series_uid = first.SeriesInstanceUID
    with transfer():
        for n in range(1, 41):
            ds = first if n == 1 else make_dataset(**same, InstanceNumber=n)
            assert ingest(to_bytes(ds), origin="test").status == "stored"
        rows = refresh_rows(series_uid)
        assert len(rows) == 1  # one refresh for 40 instances
        assert rows[0].dispatched_at is None  # held back while the transfer lasts
        assert document_of(series_uid) == (40, False)
    shutdown_local_pool(wait=True)  # the refresh was dispatched when the transfer ended
    assert refresh_rows(series_uid) == []
    assert document_of(series_uid) == (40, True)
    with transaction() as session:
        marker = session.scalar(
            select(Series.refresh_requested_at).where(Series.series_instance_uid == series_uid)
        )
    assert marker is None


def test_outside_a_transfer_the_refresh_is_sent_at_commit() -> None:
    ds = make_dataset()
    assert ingest(to_bytes(ds), origin="test").status == "stored"
    shutdown_local_pool(wait=True)
    assert refresh_rows(ds.SeriesInstanceUID) == []
    assert document_of(ds.SeriesInstanceUID) == (1, True)


def test_transfers_of_one_instance_each_share_one_delayed_refresh(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A client sending a series one instance per request (STOW-RS of one): the refresh
    queued when the first request ends waits REFRESH_QUIET_S, and the next requests add
    none, so the series is rebuilt once, not once per instance."""
    monkeypatch.setattr(service, "REFRESH_QUIET_S", 3600.0)  # no timer fires in this test
    first = make_dataset()
    same = {
        "StudyInstanceUID": first.StudyInstanceUID,
        "SeriesInstanceUID": first.SeriesInstanceUID,
    }
    series_uid = first.SeriesInstanceUID
    for n in range(1, 6):
        ds = first if n == 1 else make_dataset(**same, InstanceNumber=n)
        with transfer():
            assert ingest(to_bytes(ds), origin="test").status == "stored"
    rows = refresh_rows(series_uid)
    assert len(rows) == 1
    assert rows[0].dispatched_at is None  # waiting for more transfers
    shutdown_local_pool(wait=True)  # finishing sends the waiting refresh at once
    assert refresh_rows(series_uid) == []
    assert document_of(series_uid) == (5, True)
