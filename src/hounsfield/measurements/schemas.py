"""Measurement I/O: one annotation as the viewer draws it, in image pixel coordinates.

Points are DICOM image coordinates (column, row; 0,0 is the top-left corner of the first
pixel, as SR SCOORD has them). How many a tool has: Length and ArrowAnnotate 2 (the arrow
points at the first), Angle 3 (the vertex second), RectangleROI 4 corners, EllipticalROI the
two axes' end points (4).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

UID = Annotated[str, Field(max_length=64, pattern=r"^[0-9]+(\.[0-9]+)*$")]
Text = Annotated[str, Field(max_length=256, pattern=r"^[^\x00-\x1f]*$")]
Coordinate = Annotated[float, Field(ge=-1e6, le=1e6, allow_inf_nan=False)]
Tool = Literal["Length", "Angle", "RectangleROI", "EllipticalROI", "ArrowAnnotate"]
ValueName = Literal["length", "angle", "area", "mean", "stdDev", "max", "min"]
Unit = Literal["mm", "mm2", "deg", "HU", "px", "px2", "1"]
POINTS: dict[str, int] = {
    "Length": 2, "ArrowAnnotate": 2, "Angle": 3, "RectangleROI": 4, "EllipticalROI": 4,
}  # fmt: skip


class Value(BaseModel):
    """A measured value as the viewer computed it (for other viewers; ours recompute)."""

    model_config = ConfigDict(extra="forbid")

    name: ValueName
    value: Annotated[float, Field(allow_inf_nan=False)]
    unit: Unit


class Measurement(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tool: Tool
    series_instance_uid: UID
    sop_instance_uid: UID
    frame: int = Field(1, ge=1, le=100000)
    points: list[tuple[Coordinate, Coordinate]] = Field(min_length=2, max_length=4)
    label: Text = ""
    values: list[Value] = Field(default_factory=list, max_length=8)

    @model_validator(mode="after")
    def _point_count(self) -> Self:
        if len(self.points) != POINTS[self.tool]:
            raise ValueError(f"{self.tool} has {POINTS[self.tool]} points")
        return self


class MeasurementsSave(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measurements: list[Measurement] = Field(max_length=500)


class MeasurementsRead(BaseModel):
    """The study's saved measurements; `sop_instance_uid` is the SR holding them."""

    measurements: list[Measurement]
    series_instance_uid: str | None = None
    sop_instance_uid: str | None = None
    observer: str | None = None
    saved_at: datetime | None = None
