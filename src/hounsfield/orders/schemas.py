"""API shapes of imaging orders."""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Annotated

from pydantic import AfterValidator, BaseModel, Field

from hounsfield.orders.models import OrderStatus, PatientSource, Priority

# DICOM LO/SH values: no control characters and no backslash (the value separator).
_PLAIN = r"^[^\x00-\x1f\x7f\\]*$"


def _upper(value: str) -> str:
    return value.strip().upper()


Modality = Annotated[
    str, Field(min_length=1, max_length=16, pattern=r"^[A-Za-z0-9_ ]+$"), AfterValidator(_upper)
]
AETitle = Annotated[str, Field(max_length=16, pattern=r"^[ -\[\]-~]*$")]  # no backslash


def _aware(value: datetime) -> datetime:
    if value.tzinfo is None:
        raise ValueError("scheduled_at needs a time zone (e.g. +08:00 or Z)")
    return value.astimezone(UTC)  # as the database gives it back


class OrderCreate(BaseModel):
    patient_id: int = Field(ge=1, le=2**63 - 1, description="The patient record (patients.id).")
    procedure: str = Field(min_length=1, max_length=64, pattern=_PLAIN)
    modality: Modality
    body_part: str = Field("", max_length=64, pattern=_PLAIN)
    priority: Priority = Priority.routine
    clinical_question: str = Field("", max_length=1024, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$")
    ordering_doctor: str = Field("", max_length=64, pattern=_PLAIN)
    ordering_department: str = Field("", max_length=64, pattern=_PLAIN)
    patient_source: PatientSource = PatientSource.outpatient
    scheduled_at: Annotated[datetime, AfterValidator(_aware)]
    station_ae: AETitle = ""
    accession_number: str | None = Field(
        None, min_length=1, max_length=16, pattern=_PLAIN,
        description="Only when a hospital system numbered the order; else generated.",
    )  # fmt: skip


class OrderUpdate(BaseModel):
    """Only the fields sent change; `version` is the one the client last read."""

    version: int = Field(ge=1, le=2**31 - 1)
    procedure: str | None = Field(None, min_length=1, max_length=64, pattern=_PLAIN)
    modality: Modality | None = None
    body_part: str | None = Field(None, max_length=64, pattern=_PLAIN)
    priority: Priority | None = None
    clinical_question: str | None = Field(
        None, max_length=1024, pattern=r"^[^\x00-\x08\x0b-\x1f\x7f]*$"
    )
    ordering_doctor: str | None = Field(None, max_length=64, pattern=_PLAIN)
    ordering_department: str | None = Field(None, max_length=64, pattern=_PLAIN)
    patient_source: PatientSource | None = None
    scheduled_at: Annotated[datetime, AfterValidator(_aware)] | None = None
    station_ae: AETitle | None = None


class OrderRead(BaseModel):
    id: int
    patient_id: int
    patient_name: str = Field(description="The patient record's name: `张三丰 (Zhang^Sanfeng)`.")
    accession_number: str
    procedure: str
    modality: str
    body_part: str
    priority: Priority
    clinical_question: str
    ordering_doctor: str
    ordering_department: str
    patient_source: PatientSource
    scheduled_at: datetime
    station_ae: str
    status: OrderStatus
    study_instance_uid: str | None
    created_at: datetime
    version: int


class StatusChange(BaseModel):
    status: OrderStatus


class MatchRequest(BaseModel):
    study_instance_uid: str = Field(min_length=1, max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")


class UnmatchedStudy(BaseModel):
    study_instance_uid: str
    patient_name: str
    patient_id: str
    accession_number: str
    study_date: date | None
    modalities: list[str]
