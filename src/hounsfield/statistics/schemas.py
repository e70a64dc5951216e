"""API shapes of the statistics dashboard."""

from __future__ import annotations

import uuid
from datetime import date

from pydantic import BaseModel, Field

from hounsfield.orders.models import PatientSource


class ModalityCount(BaseModel):
    modality: str
    count: int


class DayCount(BaseModel):
    day: date
    count: int


class DepartmentCount(BaseModel):
    department: str = Field(description="The ordering department, else the study's own.")
    count: int


class Percentiles(BaseModel):
    p50: float | None = Field(description="Seconds; null when no study reached the step.")
    p90: float | None
    p95: float | None


class Turnaround(BaseModel):
    preliminary: Percentiles = Field(description="Arrival → first preliminary report.")
    final: Percentiles = Field(description="Arrival → final (approved) report.")


class Workload(BaseModel):
    user_id: uuid.UUID
    name: str
    count: int = Field(description="Studies this user reported (took to preliminary or final).")


class SourceCount(BaseModel):
    source: PatientSource
    count: int = Field(description="Distinct patients with orders scheduled in the period.")


class Statistics(BaseModel):
    by_modality: list[ModalityCount]
    by_day: list[DayCount]
    by_department: list[DepartmentCount]
    turnaround: Turnaround
    workload: list[Workload]
    by_source: list[SourceCount]
