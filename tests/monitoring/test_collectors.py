"""Gauges computed at scrape time, which the alert rules of deploy/prometheus/ use."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import update

from hounsfield.config import get_settings
from hounsfield.db import transaction, utcnow
from hounsfield.monitoring.collectors import backup_finished
from hounsfield.notifications import service
from hounsfield.notifications.models import NotificationEvent
from hounsfield.worker import OutboxEntry


def _gauges(client: TestClient) -> dict[str, float]:
    text = client.get("/metrics").text
    found = re.findall(r"^(hounsfield_[a-z_]+) (\S+)$", text, re.M)  # unlabelled gauges
    return {name: float(value) for name, value in found}


def test_task_backlog_and_tasks_given_up(client: TestClient) -> None:
    with transaction(write=True) as session:
        old = utcnow() - timedelta(hours=1)
        session.add_all([OutboxEntry(task_name="t", created_at=old), OutboxEntry(task_name="t"),
                         OutboxEntry(task_name="t", attempts=5)])  # fmt: skip
    gauges = _gauges(client)
    assert gauges["hounsfield_task_backlog"] == 2
    assert gauges["hounsfield_task_backlog_oldest_seconds"] >= 3600
    assert gauges["hounsfield_tasks_given_up"] == 1
    assert 0 < gauges["hounsfield_data_dir_free_bytes"] <= gauges["hounsfield_data_dir_size_bytes"]


def test_critical_results_unread_after_15_minutes(
    client: TestClient, make_user: Callable[..., Any]
) -> None:
    doctor, colleague = make_user("doctor"), make_user("doctor")
    events = []
    with transaction(write=True) as session:
        for accession in ("A1", "A2", "A3"):
            events.append(service.emit(session, get_settings(), service.Kind.critical_result,
                                       recipients=[doctor.id, colleague.id],
                                       params={"accession": accession}).id)  # fmt: skip
        # A1 and A2 are 20 minutes old, A3 is new; a colleague has read A2.
        session.execute(update(NotificationEvent).where(NotificationEvent.id.in_(events[:2]))
                        .values(created_at=utcnow() - timedelta(minutes=20)))  # fmt: skip
        read, _, _ = service.list_for(session, colleague.id, unread_only=False, limit=10, offset=0)
        service.mark_read(session, colleague.id,
                          next(n.id for n in read if n.event_id == events[1]))  # fmt: skip
    assert _gauges(client)["hounsfield_critical_results_unacknowledged"] == 1


def test_backup_outcomes(client: TestClient) -> None:
    assert "hounsfield_backup_last_success_timestamp_seconds" not in _gauges(client)
    backup_finished(ok=True)
    backup_finished(ok=False)
    gauges = _gauges(client)
    success = gauges["hounsfield_backup_last_success_timestamp_seconds"]
    assert gauges["hounsfield_backup_last_failure_timestamp_seconds"] >= success > 0


def _sample(client: TestClient, name: str, labels: str) -> float:
    match = re.search(rf"^{name}\{{{labels}\}} (\S+)$", client.get("/metrics").text, re.M)
    return float(match.group(1)) if match else 0.0


def test_ingest_is_counted_by_route_and_outcome_and_the_archive_size_is_reported(
    client: TestClient,
) -> None:
    from hounsfield.ingest.service import ingest
    from hounsfield.monitoring.collectors import StateCollector
    from tests.dicom_factory import make_dataset, to_bytes

    stored = 'route="dimse",status="stored"'
    refused = 'route="dimse",status="refused"'
    before = (_sample(client, "hounsfield_ingest_instances_total", stored),
              _sample(client, "hounsfield_ingest_instances_total", refused),
              _sample(client, "hounsfield_ingest_bytes_total", 'route="dimse"'))  # fmt: skip
    data = to_bytes(make_dataset())
    assert ingest(data, origin="dimse:CT_SCANNER").status == "stored"
    assert ingest(b"not dicom at all", origin="dimse:CT_SCANNER").status == "refused"
    assert _sample(client, "hounsfield_ingest_instances_total", stored) == before[0] + 1
    assert _sample(client, "hounsfield_ingest_instances_total", refused) == before[1] + 1
    assert _sample(client, "hounsfield_ingest_bytes_total", 'route="dimse"') == before[2] + len(
        data
    )
    gauges = {m.name: m.samples[0].value for m in StateCollector().collect()}
    assert gauges["hounsfield_storage_stored_bytes"] == len(data)
