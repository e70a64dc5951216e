"""API shapes of the reading worklist."""

from __future__ import annotations

import uuid
from datetime import date, datetime

from pydantic import BaseModel, Field

from hounsfield.orders.models import PatientSource, Priority
from hounsfield.worklist.models import ReadStatus


class UserRef(BaseModel):
    id: uuid.UUID
    name: str


class WorklistItem(BaseModel):
    study_instance_uid: str
    patient_name: str = Field(description="DICOM PN, all groups: `Zhang^Wei=张^伟`.")
    patient_id: str
    sex: str
    birth_date: date | None
    age: str = Field(description="DICOM age string (`059Y`, `003M`), from the study date.")
    modalities: list[str]
    body_part: str
    study_date: date | None
    study_time: str
    accession_number: str
    description: str
    number_of_instances: int
    priority: Priority
    read_status: ReadStatus
    assigned_to: UserRef | None
    claimed_by: UserRef | None
    claim_expires_at: datetime | None
    source: PatientSource | None = Field(description="From the matched order; null: none.")
    department: str
    received_at: datetime


class StatusCounts(BaseModel):
    unread: int
    in_reading: int
    preliminary: int
    final: int


class WorklistPage(BaseModel):
    total: int
    counts: StatusCounts
    items: list[WorklistItem]


class Claim(BaseModel):
    study_instance_uid: str
    read_status: ReadStatus
    claimed_by: UserRef | None
    claim_expires_at: datetime | None
    assigned_to: UserRef | None


class AssignRequest(BaseModel):
    user_id: uuid.UUID | None = Field(description="The reader (a user id), or null: nobody.")
