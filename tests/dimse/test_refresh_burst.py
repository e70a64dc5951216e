"""A C-STORE burst in one association costs one series refresh, sent when it is released."""

from __future__ import annotations

import time
from typing import Any

from pynetdicom import AE
from pynetdicom.sop_class import CTImageStorage
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.studies import derived
from hounsfield.studies import refs as lookup
from hounsfield.worker import OutboxEntry
from tests.dicom_factory import make_dataset


def _refresh_rows() -> list[OutboxEntry]:
    with transaction() as session:
        return list(
            session.scalars(
                select(OutboxEntry).where(OutboxEntry.task_name == "studies.refresh_series")
            )
        )


def test_two_hundred_instances_in_one_association_cost_one_build(listener: Any) -> None:
    first = make_dataset()
    same = {
        "StudyInstanceUID": first.StudyInstanceUID,
        "SeriesInstanceUID": first.SeriesInstanceUID,
    }
    ae = AE(ae_title="MODALITY")
    ae.add_requested_context(CTImageStorage)
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    assert assoc.is_established
    try:
        for n in range(1, 201):
            ds = first if n == 1 else make_dataset(**same, InstanceNumber=n)
            assert assoc.send_c_store(ds).Status == 0x0000
        held = _refresh_rows()
        assert len(held) == 1
        assert held[0].dispatched_at is None  # held back until the association ends
    finally:
        assoc.release()
    deadline = time.monotonic() + 60  # a bound on waiting for the release event, not a timing
    while _refresh_rows() and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _refresh_rows() == []  # the one refresh ran once the association ended
    with transaction() as session:
        series = lookup.series_by_uid(session, first.SeriesInstanceUID)
    assert series is not None
    assert series.number_of_instances == 200
    assert derived._series_path(series.series_instance_uid, series.metadata_version).exists()
