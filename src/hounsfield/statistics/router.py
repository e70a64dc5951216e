"""HTTP: /api/statistics — the department dashboard's figures."""

from __future__ import annotations

from datetime import date
from typing import Annotated

from fastapi import APIRouter

from hounsfield.auth.deps import requires
from hounsfield.db import SessionDep
from hounsfield.statistics import service
from hounsfield.statistics.schemas import Statistics
from hounsfield.users.models import User
from hounsfield.users.permissions import Permission

router = APIRouter(prefix="/api/statistics", tags=["statistics"])

StatisticsReader = Annotated[User, requires(Permission.statistics_read)]


@router.get("")
def get_statistics(
    _user: StatisticsReader,
    session: SessionDep,
    date_from: date | None = None,
    date_to: date | None = None,
) -> Statistics:
    """Studies per modality / day / department, turnaround percentiles, workload, sources.

    Aggregates only (no patient appears), so no per-patient audit event."""
    figures = service.statistics(session, service.Period(date_from, date_to))
    return Statistics.model_validate(figures)
