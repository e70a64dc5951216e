"""AI I/O: the model manifest, and what the API reads and writes."""

from __future__ import annotations

import uuid
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, model_validator

# Printable text only: NUL and control characters never reach the database (PostgreSQL
# refuses NUL; schemathesis sends them).
_PRINTABLE = r"^[^\x00-\x1f\x7f]*$"
Text64 = Annotated[str, StringConstraints(max_length=64, pattern=_PRINTABLE)]
Text500 = Annotated[str, StringConstraints(max_length=500, pattern=_PRINTABLE)]
Text2000 = Annotated[str, StringConstraints(max_length=2000, pattern=_PRINTABLE)]
ModelName = Annotated[str, StringConstraints(pattern=r"^[a-z0-9][a-z0-9._-]{0,63}$")]
VersionName = Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9._+-]{0,31}$")]
Uid = Annotated[str, StringConstraints(pattern=r"^[0-9]+(\.[0-9]+)*$", max_length=64)]
CodeString = Annotated[str, StringConstraints(pattern=r"^[A-Z0-9 _]{1,16}$")]

Task = Literal["classification", "detection", "segmentation"]
Kind = Literal["onnx", "python"]
RunStatus = Literal["queued", "running", "succeeded", "failed"]
FindingStatus = Literal["suggestion", "accepted", "rejected", "edited"]


class Filters(BaseModel):
    """Which images a model is for; an empty list matches anything."""

    model_config = ConfigDict(extra="forbid")

    modalities: list[CodeString] = Field(default_factory=list, max_length=16)
    body_parts: list[CodeString] = Field(default_factory=list, max_length=32)
    sop_classes: list[Uid] = Field(default_factory=list, max_length=32)
    stations: list[Text64] = Field(default_factory=list, max_length=32)


class WindowSpec(BaseModel):
    model_config = ConfigDict(extra="forbid")

    center: float
    width: float = Field(gt=0)


class InputSpec(BaseModel):
    """How the archive's images become the model's input tensor.

    `values`: `display` goes through the rendering pipeline (modality LUT, then `window`
    or the image's own window, MONOCHROME1 inverted) to 0..255; `modality` keeps modality
    values (CT: Hounsfield units). Then each image is resized to `size` (rows, columns),
    scaled as `normalisation` says and laid out as `layout` (N: batch, C: channels).
    """

    model_config = ConfigDict(extra="forbid")

    dims: Literal[2, 3] = 2
    size: list[Annotated[int, Field(ge=1, le=1024)]] = Field(min_length=2, max_length=3)
    channels: Literal[1, 3] = 1
    values: Literal["display", "modality"] = "display"
    window: WindowSpec | None = None
    normalisation: Literal["none", "unit", "minus_one_one", "mean_std"] = "unit"
    mean: float = 0.0
    std: float = Field(1.0, gt=0)
    layout: Literal["NCHW", "NHWC", "NCDHW"] = "NCHW"

    @model_validator(mode="after")
    def _consistent(self) -> InputSpec:
        if self.dims == 3 and (len(self.size) != 3 or self.layout != "NCDHW"):
            raise ValueError("a 3D input needs size [depth, rows, columns] and layout NCDHW")
        if self.dims == 2 and (len(self.size) != 2 or self.layout == "NCDHW"):
            raise ValueError("a 2D input needs size [rows, columns] and layout NCHW or NHWC")
        return self

    def tensor_shape(self, batch: int = 1) -> list[int]:
        """The shape of the tensor the preprocessing makes for `batch` images (or volumes)."""
        if self.layout == "NHWC":
            return [batch, *self.size, self.channels]
        return [batch, self.channels, *self.size]


class Label(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: Annotated[str, StringConstraints(pattern=r"^[A-Za-z0-9][A-Za-z0-9 _.-]{0,63}$")]
    threshold: float = Field(0.5, ge=0, le=1)
    # Classification: a finding "normal" labels mean nothing was found (reported, not flagged).
    normal: bool = False


class OutputSpec(BaseModel):
    """How to read the model's first output.

    classification: [N, labels] scores; detection: [N, boxes, 6] rows of
    (x0, y0, x1, y1, score, label index) in input pixels; segmentation: [N, labels, H, W]
    (or [N, labels, D, H, W]) scores, one channel per label.
    """

    model_config = ConfigDict(extra="forbid")

    activation: Literal["none", "softmax", "sigmoid"] = "none"


class Manifest(BaseModel):
    """What a model is, what it takes and what it gives: uploaded with the file."""

    model_config = ConfigDict(extra="forbid")

    name: ModelName
    version: VersionName
    task: Task
    kind: Kind = "onnx"
    # python kind: the algorithm's registered name (hounsfield.ai.algorithms).
    algorithm: ModelName | None = None
    description: Text2000 = ""
    filters: Filters = Field(default_factory=Filters)
    input: InputSpec
    output: OutputSpec = Field(default_factory=OutputSpec)
    labels: list[Label] = Field(min_length=1, max_length=64)
    intended_use: Text2000
    license: Text500
    training_data: Text2000 = ""
    validation_metrics: dict[Text64, float] = Field(default_factory=dict, max_length=32)

    @model_validator(mode="after")
    def _kind_fits(self) -> Manifest:
        if (self.kind == "python") != (self.algorithm is not None):
            raise ValueError("`algorithm` is given exactly when kind is python")
        return self


class ModelVersionRead(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: uuid.UUID
    version: str
    kind: str
    task: str
    sha256: str | None
    size: int
    enabled: bool
    active: bool = False
    created_at: datetime
    created_by: str | None
    manifest: dict[str, Any]


class ModelRead(BaseModel):
    id: uuid.UUID
    name: str
    auto_run: bool
    active_version_id: uuid.UUID | None
    active_version: str | None
    versions: list[ModelVersionRead]


class ModelUpdate(BaseModel):
    """Enable, disable or roll back: `active_version` names the version to use (it is
    enabled, the previous one stays enabled but inactive); `enabled` on a version id."""

    model_config = ConfigDict(extra="forbid")

    active_version: VersionName | None = None
    enable: VersionName | None = None
    disable: VersionName | None = None
    auto_run: bool | None = None


class DiagnoseRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    study_instance_uid: Uid
    series_instance_uid: Uid | None = None
    sop_instance_uid: Uid | None = None
    model: Annotated[str, StringConstraints(max_length=64, pattern=r"^[A-Za-z0-9._-]+$")]


class RunCreated(BaseModel):
    run_id: uuid.UUID
    status: RunStatus


class FindingRead(BaseModel):
    id: uuid.UUID
    label: str
    probability: float
    sop_instance_uid: str | None
    frame: int | None
    geometry: dict[str, Any]
    measurements: dict[str, float]
    status: FindingStatus
    edited_label: str | None
    edited_geometry: dict[str, Any] | None
    review_comment: str | None
    reviewed_by: str | None
    reviewed_at: datetime | None
    version: int


class RunRead(BaseModel):
    id: uuid.UUID
    model: str
    version: str
    status: RunStatus
    reason_code: str | None
    reason: str | None
    triggered_by: str
    study_instance_uid: str
    series_instance_uid: str | None
    sop_instance_uid: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    latency_ms: float | None
    images: int
    sr_sop_instance_uid: str | None
    seg_sop_instance_uid: str | None
    findings: list[FindingRead]


Coordinate = Annotated[float, Field(allow_inf_nan=False, ge=-1e6, le=1e6)]


class Geometry(BaseModel):
    """An edited geometry, in image pixel edges (column, row): the same kind as the AI's
    (a box [x0, y0, x1, y1] or a contour of [x, y] vertices), inside the image."""

    model_config = ConfigDict(extra="forbid")

    bbox: list[Coordinate] | None = Field(None, min_length=4, max_length=4)
    contour: list[Annotated[list[Coordinate], Field(min_length=2, max_length=2)]] | None = Field(
        None, min_length=3, max_length=4096
    )

    @model_validator(mode="after")
    def _one_kind(self) -> Geometry:
        if (self.bbox is None) == (self.contour is None):
            raise ValueError("give exactly one of bbox and contour")
        if self.bbox is not None and not (
            self.bbox[0] < self.bbox[2] and self.bbox[1] < self.bbox[3]
        ):
            raise ValueError("a box needs x0 < x1 and y0 < y1")
        return self


class ReviewRequest(BaseModel):
    model_config = ConfigDict(extra="forbid")

    decision: Literal["accept", "reject", "edit"]
    label: (
        Annotated[str, StringConstraints(max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")] | None
    ) = None
    geometry: Geometry | None = None
    comment: Text500 | None = None
    # The finding's version the doctor read: required to edit a finding already reviewed,
    # checked when given (409 when someone changed it since).
    version: int | None = Field(None, ge=1, le=1_000_000)


class MaskSlice(BaseModel):
    """A segment's pixels on one source image: runs of [row, first column, length]."""

    sop_instance_uid: str
    frame: int
    runs: list[int]  # flattened (row, column, length) triples


class MaskRead(BaseModel):
    """A finding's segmentation mask, read from its run's DICOM SEG, per source image."""

    segment_number: int
    rows: int
    columns: int
    slices: list[MaskSlice]


class VersionMetrics(BaseModel):
    model: str
    version: str
    version_id: uuid.UUID
    runs: int
    failures: int
    latency_p50_ms: float | None
    latency_p95_ms: float | None
    reviewed: int
    accepted: int
    acceptance_rate: float | None
    labels_per_day: dict[str, dict[str, int]]  # day (ISO) → label → findings


class MetricsRead(BaseModel):
    versions: list[VersionMetrics]
