"""GET /api/statistics: figures from known data (arrival times and report times set)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from pydicom.uid import generate_uid
from sqlalchemy import update

from hounsfield.db import transaction
from hounsfield.statistics.service import percentiles
from hounsfield.studies.models import Study
from hounsfield.worklist.models import Reading
from tests.conftest import login
from tests.worklist.test_worklist import store_study

DAY1 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
DAY2 = datetime(2026, 3, 3, 23, 0, tzinfo=UTC)


def _arrived(uid: str, at: datetime) -> None:
    with transaction(write=True) as session:
        session.execute(update(Study).where(Study.study_instance_uid == uid).values(received_at=at))


def _read(uid: str, reader: Any, preliminary_s: int | None, final_s: int | None) -> None:
    """A reading whose report times are the given seconds after the study's arrival."""
    with transaction(write=True) as session:
        study = session.query(Study).filter_by(study_instance_uid=uid).one()
        arrived = study.received_at
        session.add(
            Reading(
                study_pk=study.id,
                status="final" if final_s is not None else "preliminary",
                reported_by_id=reader.id,
                preliminary_at=arrived + timedelta(seconds=preliminary_s)
                if preliminary_s is not None
                else None,
                final_at=arrived + timedelta(seconds=final_s) if final_s is not None else None,
            )
        )


def test_figures_from_known_data(client: TestClient, make_user: Callable[..., Any]) -> None:
    wang = make_user("doctor", display_name="王医生")
    li = make_user("doctor", display_name="李医生")
    ct = [store_study(Modality="CT", InstitutionalDepartmentName="呼吸科") for _ in range(3)]
    mr = [store_study(Modality="MR", InstitutionalDepartmentName="神经内科") for _ in range(2)]
    # A second series (SR) in the first CT study counts that study once per modality.
    store_study(StudyInstanceUID=ct[0], SeriesInstanceUID=str(generate_uid()), Modality="SR",
                InstitutionalDepartmentName="呼吸科")  # fmt: skip
    outside = store_study(Modality="CT")
    for uid in ct:
        _arrived(uid, DAY1)
    for uid in mr:
        _arrived(uid, DAY2)
    _arrived(outside, DAY2 + timedelta(days=5))

    for uid, (prelim, final) in zip(
        [*ct, *mr], [(60, 600), (120, 1200), (180, None), (240, None), (300, None)], strict=True
    ):
        _read(uid, wang if prelim < 200 else li, prelim, final)

    as_doctor = login(client, wang.username)
    response = client.get(
        "/api/statistics", params={"date_from": "2026-03-02", "date_to": "2026-03-03"},
        headers=as_doctor,
    )  # fmt: skip
    assert response.status_code == 200, response.text
    figures = response.json()
    assert figures["by_modality"] == [
        {"modality": "CT", "count": 3},
        {"modality": "MR", "count": 2},
        {"modality": "SR", "count": 1},
    ]
    assert figures["by_day"] == [
        {"day": "2026-03-02", "count": 3},
        {"day": "2026-03-03", "count": 2},
    ]
    assert figures["by_department"] == [
        {"department": "呼吸科", "count": 3},
        {"department": "神经内科", "count": 2},
    ]
    # numpy's linear interpolation: 60..300 → p50 180, p90 276, p95 288.
    assert figures["turnaround"] == {
        "preliminary": {"p50": 180.0, "p90": 276.0, "p95": 288.0},
        "final": {"p50": 900.0, "p90": 1140.0, "p95": 1170.0},
    }
    assert figures["workload"] == [
        {"user_id": str(wang.id), "name": "王医生", "count": 3},
        {"user_id": str(li.id), "name": "李医生", "count": 2},
    ]

    everything = client.get("/api/statistics", headers=as_doctor).json()
    assert sum(d["count"] for d in everything["by_day"]) == 6

    nurse = login(client, make_user("nurse").username)
    assert client.get("/api/statistics", headers=nurse).status_code == 403


def test_percentiles_of_nothing_are_null() -> None:
    assert percentiles([]) == {"p50": None, "p90": None, "p95": None}
    assert percentiles([5.0]) == {"p50": 5.0, "p90": 5.0, "p95": 5.0}
