"""Report I/O. Free text is bounded and control characters other than line breaks and tabs
are refused (PostgreSQL refuses NUL; nothing legitimate sends the rest)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from hounsfield.reports.models import ReportStatus

SectionText = Annotated[str, Field(max_length=20000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f]*$")]
Reason = Annotated[str, Field(min_length=1, max_length=1000, pattern=r"^[^\x00-\x1f]*$")]
UID = Annotated[str, Field(max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Label = Annotated[str, Field(max_length=128, pattern=r"^[^\x00-\x1f]*$")]


class KeyImage(BaseModel):
    """A reference to a frame as the doctor saw it: W/L and the measurements on it."""

    model_config = ConfigDict(extra="forbid")

    series_instance_uid: UID | None = None
    sop_instance_uid: UID
    frame: int = Field(1, ge=1, le=100000)
    window_center: float | None = None
    window_width: float | None = Field(None, gt=0)
    measurements: list[dict[str, Any]] = Field(default_factory=list, max_length=100)
    caption: Label = ""


class ReportCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study_instance_uid: UID
    template_id: uuid.UUID | None = None


class ReportUpdate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int = Field(ge=1)
    findings: SectionText | None = None
    impression: SectionText | None = None
    recommendation: SectionText | None = None
    structured: dict[str, str | float | int | bool | None] | None = Field(None, max_length=200)
    key_images: list[KeyImage] | None = Field(None, max_length=50)

    def changes(self) -> dict[str, Any]:
        return self.model_dump(exclude={"version"}, exclude_none=True, mode="json")


class AmendRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["addendum", "correction"]
    reason: Reason
    addendum: SectionText = ""
    findings: SectionText | None = None
    impression: SectionText | None = None
    recommendation: SectionText | None = None

    def changes(self) -> dict[str, Any]:
        return self.model_dump(include={"findings", "impression", "recommendation"},
                               exclude_none=True)  # fmt: skip


class CancelRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reason: Reason


class ReportRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    study_instance_uid: str
    template_id: uuid.UUID | None
    status: ReportStatus
    fhir_status: str
    findings: str
    impression: str
    recommendation: str
    addenda: list[dict[str, Any]]
    structured: dict[str, Any]
    key_images: list[dict[str, Any]]
    version: int
    author_id: uuid.UUID
    approver_id: uuid.UUID | None
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None


class ReportPage(BaseModel):
    total: int
    items: list[ReportRead]


class VersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    number: int
    status: str
    saved_by_id: uuid.UUID
    saved_at: datetime
    reason: str
    signed: bool
    key_id: str | None
    signed_at: datetime | None
    content: dict[str, Any]
    saved_by_name: str


class VersionsRead(BaseModel):
    items: list[VersionRead]
    diff: dict[str, list[str]] | None = None


class VerifyRead(BaseModel):
    signed: bool
    valid: bool
    reason: str | None
    key_id: str | None = None
    version: int | None = None
    signer_id: str | None = None
    signed_at: datetime | None = None


class PrintFacts(BaseModel):
    """What a printed report shows besides its text: hospital, patient, study and signer
    (the same facts as the PDF, in the reader's language)."""

    hospital_name: str
    patient_name: str
    sex: str
    age: str
    patient_id: str
    accession: str
    study_date: str
    modality: str
    description: str
    signer: str | None
    signed_at: str | None
    key_id: str | None


class TemplateField(BaseModel):
    key: Annotated[str, Field(max_length=64, pattern=r"^[a-z][a-z0-9_]*$")]
    label: Label
    type: Literal["choice", "number", "text", "measurement"]
    options: list[Label] = Field(default_factory=list, max_length=50)
    unit: Annotated[str, Field(max_length=16, pattern=r"^[^\x00-\x1f]*$")] = ""


class TemplateCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9-]*$")]
    language: Literal["zh-CN", "en"]
    name: Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[^\x00-\x1f]*$")]
    modality: Annotated[str, Field(max_length=16, pattern=r"^[A-Z]{0,16}$")]
    body_part: Annotated[str, Field(max_length=64, pattern=r"^[A-Z_ ]{0,64}$")]
    sections: dict[Literal["findings", "impression", "recommendation"], SectionText]
    fields: list[TemplateField] = Field(default_factory=list, max_length=50)


class TemplateRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    code: str
    language: str
    name: str
    modality: str
    body_part: str
    sections: dict[str, str]
    fields: list[dict[str, Any]]
    builtin: bool


class CriticalFlag(BaseModel):
    """A critical result to flag: the contacts are notified in this order."""

    model_config = ConfigDict(extra="forbid")

    study_instance_uid: UID
    report_id: uuid.UUID | None = None
    finding: SectionText = Field(min_length=1, max_length=4000)
    contacts: list[uuid.UUID] = Field(min_length=1, max_length=10)


class CriticalRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    study_instance_uid: str
    report_id: uuid.UUID | None
    finding: str
    contacts: list[uuid.UUID]
    current_contact: uuid.UUID
    flagged_by_id: uuid.UUID
    flagged_at: datetime
    notified_at: datetime
    acknowledged_by_id: uuid.UUID | None
    acknowledged_at: datetime | None
    open: bool
    # For the inbox: who, which study, and how far it escalated (0: the first contact).
    escalation_level: int
    flagged_by_name: str
    current_contact_name: str
    acknowledged_by_name: str | None
    patient_name: str = ""
    patient_id: str = ""
    accession_number: str = ""
    study_description: str = ""
    modality: str = ""
    study_date: date | None = None


class CriticalPage(BaseModel):
    total: int
    items: list[CriticalRead]
