"""Pydantic shapes of /api/patients (the web pages build against these names)."""

from __future__ import annotations

from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

# One line, no control characters (PostgreSQL refuses NUL): names, codes, departments.
_LINE = r"^[^\x00-\x1f\x7f]*$"
# Free text may break lines, nothing else below U+0020.
_TEXT = r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$"
# A DICOM PN group: no group separator, no value separator.
_PN_GROUP = r"^[^=\\\x00-\x1f\x7f]*$"

Line = Annotated[str, Field(max_length=64, pattern=_LINE)]
NameGroup = Annotated[str, Field(max_length=200, pattern=_PN_GROUP)]
Sex = Literal["M", "F", "O", ""]
BirthDate = Annotated[date, Field(ge=date(1850, 1, 1), le=date(2999, 12, 31))]
Secret = Annotated[str, Field(max_length=32, pattern=_LINE)]
VisitType = Literal["outpatient", "inpatient", "emergency", "physical"]


class _Fields(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PatientCreate(_Fields):
    mrn: Annotated[str, Field(min_length=1, max_length=64, pattern=_LINE)] | None = Field(
        None, description="Medical record number; generated (HF00000001) when absent."
    )
    issuer: Line = ""
    name_ideographic: NameGroup = Field("", description="Chinese name, family^given: 张^三丰")
    name_alphabetic: NameGroup = Field("", description="Latin name: Zhang^Sanfeng")
    name_phonetic: NameGroup = ""
    sex: Sex = ""
    birth_date: BirthDate | None = None
    national_id: Secret | None = Field(None, description="居民身份证号 (GB 11643)")
    phone: Secret | None = None
    address: Annotated[str, Field(max_length=255, pattern=_TEXT)] = ""
    allergies: Annotated[str, Field(max_length=1000, pattern=_TEXT)] = ""
    notes: Annotated[str, Field(max_length=2000, pattern=_TEXT)] = ""


class PatientUpdate(_Fields):
    """Only the fields sent change; `version` is the one the client last read."""

    version: Annotated[int, Field(ge=1, le=2**31 - 1)]
    mrn: Annotated[str, Field(min_length=1, max_length=64, pattern=_LINE)] | None = None
    issuer: Line | None = None
    name_ideographic: NameGroup | None = None
    name_alphabetic: NameGroup | None = None
    name_phonetic: NameGroup | None = None
    sex: Sex | None = None
    birth_date: BirthDate | None = None
    national_id: Secret | None = None
    phone: Secret | None = None
    address: Annotated[str, Field(max_length=255, pattern=_TEXT)] | None = None
    allergies: Annotated[str, Field(max_length=1000, pattern=_TEXT)] | None = None
    notes: Annotated[str, Field(max_length=2000, pattern=_TEXT)] | None = None


class PatientRead(BaseModel):
    id: int
    mrn: str
    issuer: str
    name: str = Field(description='Display name: "张三丰 (Zhang Sanfeng)", either form alone')
    name_ideographic: str
    name_alphabetic: str
    name_phonetic: str
    sex: str
    birth_date: date | None
    national_id: str | None = Field(description="Masked unless patient:read_sensitive")
    phone: str | None = Field(description="Masked unless patient:read_sensitive")
    address: str
    allergies: str
    notes: str
    version: int
    created_at: datetime
    updated_at: datetime
    needs_reconciliation: bool
    deleted_at: datetime | None = Field(
        default=None, description="Set on a soft-deleted record (listed with deleted=true)"
    )


class PatientPage(BaseModel):
    total: int
    total_exact: bool = Field(
        description="false: more than `total` match (counting stops past 5,000, or one "
        "past the page asked for)"
    )
    items: list[PatientRead]


class PatientStudy(BaseModel):
    study_instance_uid: str
    study_date: date | None
    modalities: list[str]
    description: str
    accession_number: str
    number_of_instances: int


class PatientStudies(BaseModel):
    total: int
    items: list[PatientStudy]


class VisitCreate(_Fields):
    visit_date: BirthDate
    visit_type: VisitType
    department: Line = ""
    attending_doctor: Line = ""
    chief_complaint: Annotated[str, Field(max_length=1000, pattern=_TEXT)] = ""
    diagnosis: Annotated[str, Field(max_length=1000, pattern=_TEXT)] = ""
    icd10_code: Annotated[str, Field(max_length=16, pattern=_LINE)] = ""


class VisitRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    patient_id: int
    visit_date: date
    visit_type: str
    department: str
    attending_doctor: str
    chief_complaint: str
    diagnosis: str
    icd10_code: str
    created_at: datetime


class VisitPage(BaseModel):
    total: int
    items: list[VisitRead]


class TimelineItem(BaseModel):
    kind: Literal["visit", "study", "order", "report"]
    at: datetime | date
    title: str
    ref: str


class Timeline(BaseModel):
    items: list[TimelineItem]


class MergeRequest(_Fields):
    source_id: Annotated[int, Field(ge=1, le=2**63 - 1)]
    target_id: Annotated[int, Field(ge=1, le=2**63 - 1)]


class MergeRead(BaseModel):
    merge_id: str
    target_id: int


class ReconciliationRead(BaseModel):
    id: int
    patient_id: int
    study_instance_uid: str
    differences: dict[str, dict[str, Any]]
    created_at: datetime


class ReconciliationPage(BaseModel):
    total: int
    items: list[ReconciliationRead]


class ResolveRequest(_Fields):
    action: Literal["keep_record", "accept_dicom"]
