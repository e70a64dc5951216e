"""Report I/O. Free text is bounded and control characters other than line breaks and tabs
are refused (PostgreSQL refuses NUL; nothing legitimate sends the rest)."""

from __future__ import annotations

import uuid
from datetime import date, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator

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


class CriticalCounts(BaseModel):
    open: int
    closed: int


class CriticalPage(BaseModel):
    total: int
    items: list[CriticalRead]


def _fold(value: Any) -> Any:
    return value.casefold() if isinstance(value, str) else value


Shortcut = Annotated[str, BeforeValidator(_fold), Field(pattern=r"^[a-z0-9_]{1,16}$")]
PhraseText = Annotated[
    str, Field(min_length=1, max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")
]
Modality = Annotated[str, Field(pattern=r"^[A-Z0-9_ ]{1,16}$")]  # a DICOM CS value


class PhraseCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut
    text: PhraseText
    shared: bool = False
    modality: Modality | None = None
    language: Literal["zh-CN", "en"] | None = None

    def values(self) -> dict[str, Any]:
        return self.model_dump(exclude={"shared"})


class PhraseUpdate(BaseModel):
    """The fields given are changed; modality and language may be set to null."""

    model_config = ConfigDict(extra="forbid")

    shortcut: Shortcut | None = None
    text: PhraseText | None = None
    modality: Modality | None = None
    language: Literal["zh-CN", "en"] | None = None

    def changes(self) -> dict[str, Any]:
        given = self.model_dump(include=self.model_fields_set)
        return {k: v for k, v in given.items() if v is not None or k in ("modality", "language")}


class PhraseRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    shortcut: str
    text: str
    modality: str | None
    language: str | None
    shared: bool
    builtin: bool
    owner_id: uuid.UUID | None
    editable: bool  # whether the caller may change or delete it
    created_at: datetime
    updated_at: datetime


# -- peer review (RADPEER) ----------------------------------------------------------------

Comment = Annotated[str, Field(max_length=4000, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f]*$")]


class PeerReviewScore(BaseModel):
    """RADPEER: 1 concur; 2 discrepancy in interpretation, not ordinarily expected to be
    made; 3 discrepancy that should be made most of the time. 2 and 3 need a significance:
    a unlikely, b likely to be clinically significant."""

    model_config = ConfigDict(extra="forbid")

    score: Literal[1, 2, 3]
    significance: Literal["a", "b"] | None = None
    comment: Comment = ""

    @model_validator(mode="after")
    def _significance_fits_score(self) -> PeerReviewScore:
        if self.score == 1 and self.significance is not None:
            raise ValueError("score 1 takes no significance")
        if self.score in (2, 3) and self.significance is None:
            raise ValueError("scores 2 and 3 need a significance (a or b)")
        return self


class PeerReviewCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    report_id: uuid.UUID
    reviewer_id: uuid.UUID | None = None


class PeerReviewAssign(BaseModel):
    model_config = ConfigDict(extra="forbid")

    reviewer_id: uuid.UUID


class PeerReviewItem(BaseModel):
    """One review in a reviewer's queue: what to open, never the author's other scores."""

    id: uuid.UUID
    report_id: uuid.UUID
    study_instance_uid: str
    patient_name: str
    modality: str
    study_date: date | None
    assigned_at: datetime | None
    status: Literal["pending", "done"]
    score: int | None = None  # the caller's own score once done
    significance: str | None = None
    comment: str = ""
    reviewed_at: datetime | None = None


class PeerReviewDetail(PeerReviewItem):
    report: ReportRead


class PeerReviewQueue(BaseModel):
    total: int
    items: list[PeerReviewItem]


class PersonRef(BaseModel):
    id: uuid.UUID
    display_name: str
    username: str


class PeerReviewResult(BaseModel):
    id: uuid.UUID
    report_id: uuid.UUID
    study_instance_uid: str
    modality: str
    study_date: date | None
    author: PersonRef | None
    approver: PersonRef | None
    reviewer: PersonRef | None
    status: Literal["pending", "done"]
    score: int | None
    significance: str | None
    comment: str
    sampled: bool  # chosen at random at approval (else created by hand: created_by)
    created_by: uuid.UUID | None
    created_at: datetime
    assigned_at: datetime | None
    approved_at: datetime | None
    reviewed_at: datetime | None


class PeerReviewSummary(BaseModel):
    total: int
    done: int
    by_score: dict[str, int]  # "1", "2a", "2b", "3a", "3b"


class PeerReviewResults(BaseModel):
    summary: PeerReviewSummary
    total: int
    items: list[PeerReviewResult]
