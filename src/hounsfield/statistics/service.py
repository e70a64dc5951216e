"""Department statistics (统计): volumes, turnaround percentiles, workload, patient sources.

The period is of arrival (a study's received_at, UTC days, both ends included); the
per-source figure counts distinct patients of orders scheduled in the period. Turnaround
is arrival → first preliminary and arrival → final (study_readings), in seconds, as
percentiles with linear interpolation between ranks (numpy's default).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import numpy as np
from sqlalchemy import ColumnElement, Date, cast, func, select
from sqlalchemy.orm import Session

from hounsfield.auth import scope
from hounsfield.orders.models import Order
from hounsfield.studies.models import Series, Study
from hounsfield.users.models import User
from hounsfield.worklist.models import Reading
from hounsfield.worklist.service import department_of

PERCENTILES = (50, 90, 95)


@dataclass(frozen=True)
class Period:
    date_from: date | None = None
    date_to: date | None = None

    def on(self, column: Any) -> list[ColumnElement[bool]]:
        where: list[ColumnElement[bool]] = []
        if self.date_from is not None:
            where.append(column >= datetime.combine(self.date_from, time.min, tzinfo=UTC))
        if self.date_to is not None:
            end = datetime.combine(self.date_to + timedelta(days=1), time.min, tzinfo=UTC)
            where.append(column < end)
        return where


def _day(session: Session, column: Any) -> Any:
    # SQLite stores "YYYY-MM-DD HH:MM:SS" text (date() cuts it), MySQL/MariaDB have DATE(),
    # PostgreSQL casts.
    if session.get_bind().dialect.name == "postgresql":
        return cast(column, Date)
    return func.date(column)


def _studies(period: Period) -> list[ColumnElement[bool]]:
    return [Study.deleted_at.is_(None), scope.visible(), *period.on(Study.received_at)]


def percentiles(values: list[float]) -> dict[str, float | None]:
    """p50/p90/p95 of `values` (None for each when there are none)."""
    if not values:
        return {f"p{p}": None for p in PERCENTILES}
    found = np.percentile(np.asarray(values, dtype=float), PERCENTILES)
    return {f"p{p}": round(float(v), 1) for p, v in zip(PERCENTILES, found, strict=True)}


def _turnaround(session: Session, period: Period, column: Any) -> dict[str, float | None]:
    rows = session.execute(
        select(Study.received_at, column)
        .join(Reading, Reading.study_pk == Study.id)
        .where(*_studies(period), column.is_not(None))
    ).all()
    return percentiles([max(0.0, (done - arrived).total_seconds()) for arrived, done in rows])


def statistics(session: Session, period: Period) -> dict[str, Any]:
    """Every figure of the dashboard for `period`."""
    where = _studies(period)
    by_modality = session.execute(
        select(Series.modality, func.count(func.distinct(Study.id)))
        .join(Study, Series.study_pk == Study.id)
        .where(*where, Series.deleted_at.is_(None), Series.modality != "")
        .group_by(Series.modality)
        .order_by(func.count(func.distinct(Study.id)).desc(), Series.modality)
    ).all()
    day = _day(session, Study.received_at)
    by_day = session.execute(
        select(day, func.count(Study.id)).where(*where).group_by(day).order_by(day)
    ).all()
    department = department_of(Order)
    by_department = session.execute(
        select(department, func.count(Study.id))
        .outerjoin(Order, Order.study_instance_uid == Study.study_instance_uid)
        .where(*where)
        .group_by(department)
        .order_by(func.count(Study.id).desc(), department)
    ).all()
    workload = session.execute(
        select(User.id, User.display_name, User.username, func.count(Reading.id))
        .join(Reading, Reading.reported_by_id == User.id)
        .join(Study, Reading.study_pk == Study.id)
        .where(*where)
        .group_by(User.id, User.display_name, User.username)
        .order_by(func.count(Reading.id).desc(), User.username)
    ).all()
    by_source = session.execute(
        select(Order.patient_source, func.count(func.distinct(Order.patient_id)))
        .where(*period.on(Order.scheduled_at))
        .group_by(Order.patient_source)
        .order_by(Order.patient_source)
    ).all()
    return {
        "by_modality": [{"modality": m, "count": n} for m, n in by_modality],
        "by_day": [{"day": str(d)[:10], "count": n} for d, n in by_day],
        "by_department": [{"department": d or "", "count": n} for d, n in by_department],
        "turnaround": {
            "preliminary": _turnaround(session, period, Reading.preliminary_at),
            "final": _turnaround(session, period, Reading.final_at),
        },
        "workload": [
            {"user_id": str(i), "name": name or username, "count": n}
            for i, name, username, n in workload
        ],
        "by_source": [{"source": s, "count": n} for s, n in by_source],
    }
