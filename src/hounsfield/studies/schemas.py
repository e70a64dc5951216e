"""API shapes of the Studies API (the worklist and study detail of the web UI)."""

from __future__ import annotations

from datetime import date, datetime

from pydantic import BaseModel, Field


class StudySummary(BaseModel):
    """One study as a worklist row."""

    study_instance_uid: str
    patient_id: str
    issuer_of_patient_id: str
    patient_name: str = Field(description="DICOM PN, all groups: `Zhang^Wei=张^伟`.")
    patient_birth_date: date | None
    patient_sex: str
    accession_number: str
    study_date: date | None
    study_time: str = Field(description="HHMMSS[.ffffff], or empty.")
    study_description: str
    referring_physician_name: str
    modalities: list[str]
    number_of_series: int
    number_of_instances: int
    received_at: datetime


class SeriesSummary(BaseModel):
    series_instance_uid: str
    modality: str
    series_number: int | None
    series_description: str
    body_part_examined: str
    number_of_instances: int


class StudyDetail(StudySummary):
    """A study with its series."""

    series: list[SeriesSummary]
