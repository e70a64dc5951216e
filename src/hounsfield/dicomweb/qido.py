"""QIDO-RS (PS3.18 §10.6): query parameters → `studies.queries.search` → DICOM JSON."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydicom.datadict import dictionary_VR, keyword_for_tag, tag_for_keyword

from hounsfield.config import get_settings
from hounsfield.dicom.json_model import attribute_json, resource_path
from hounsfield.errors import BadRequest
from hounsfield.studies.queries import IndexRow, Level

__all__ = ["QidoQuery", "parse_query", "row_to_json"]

BASE_PATH = "/dicom-web"

# PS3.18 Tables 10.6.3-3/-4/-5: attributes returned by default at each level.
STUDY_DEFAULTS = (
    "StudyDate", "StudyTime", "AccessionNumber", "ModalitiesInStudy", "ReferringPhysicianName",
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "StudyInstanceUID", "StudyID",
    "StudyDescription", "NumberOfStudyRelatedSeries", "NumberOfStudyRelatedInstances",
)  # fmt: skip
SERIES_DEFAULTS = (
    "Modality", "SeriesDescription", "SeriesNumber", "SeriesInstanceUID", "BodyPartExamined",
    "NumberOfSeriesRelatedInstances", "StudyInstanceUID",
)  # fmt: skip
INSTANCE_DEFAULTS = (
    "SOPClassUID", "SOPInstanceUID", "InstanceNumber", "Rows", "Columns", "BitsAllocated",
    "NumberOfFrames", "StudyInstanceUID", "SeriesInstanceUID",
)  # fmt: skip

_CONTROL = {"limit", "offset", "includefield", "fuzzymatching"}
# Bounds on a request (issue 14.8): a database offset is a signed 64-bit number on every
# backend, and no archive holds 2^31 matches; a query names at most a few dozen attributes.
MAX_OFFSET = 2**31 - 1
MAX_PARAMETERS = 64
MAX_INCLUDE_FIELDS = 256
MAX_VALUE_CHARS = 8192
_NOT_RETURNED = {"TransferSyntaxUID"}  # file meta: never part of a QIDO response by default


class InvalidQuery(BadRequest):
    """The QIDO-RS query is not valid."""

    code = "invalid_query"


@dataclass(frozen=True)
class QidoQuery:
    """A parsed QIDO-RS request."""

    level: Level
    filters: dict[str, str]
    includefield: frozenset[str]
    include_all: bool
    limit: int
    offset: int
    fuzzy: bool
    unknown: tuple[str, ...]


def _keyword(name: str) -> str | None:
    """A query parameter name as a DICOM keyword (keyword or 8-hex-digit tag), or None."""
    if len(name) == 8 and all(c in "0123456789abcdefABCDEF" for c in name):
        return keyword_for_tag(int(name, 16)) or None
    return name if tag_for_keyword(name) is not None else None


def _int(name: str, value: str, low: int, high: int) -> int:
    try:
        number = int(value) if len(value) <= 20 else None
    except ValueError:
        number = None
    if number is None or not low <= number <= high:
        raise InvalidQuery(f"{name} must be an integer from {low} to {high}")
    return number


def parse_query(
    level: Level, params: Iterable[tuple[str, str]], path_filters: Mapping[str, str]
) -> QidoQuery:
    """Parse query parameters (PS3.18 §8.3.4) at `level`; path UIDs become filters."""
    conf = get_settings().dicomweb
    filters: dict[str, str] = {}
    include: set[str] = set()
    include_all = False
    limit, offset, fuzzy = conf.qido_default_limit, 0, False
    unknown: list[str] = []
    params = list(params)
    if len(params) > MAX_PARAMETERS:
        raise InvalidQuery(f"a query takes at most {MAX_PARAMETERS} parameters")
    for name, value in params:
        if len(value) > MAX_VALUE_CHARS:
            raise InvalidQuery(f"{name[:40]} is longer than {MAX_VALUE_CHARS} characters")
        if name == "limit":
            limit = min(_int(name, value, 0, 2**63 - 1), conf.qido_max_limit)
        elif name == "offset":
            offset = _int(name, value, 0, MAX_OFFSET)
        elif name == "fuzzymatching":
            fuzzy = value.strip().lower() == "true"
        elif name == "includefield":
            for field in value.split(","):
                field = field.strip()
                if not field:
                    continue
                if field == "all":
                    include_all = True
                    continue
                keyword = _keyword(field)
                if keyword is None:
                    raise InvalidQuery(f"includefield names an unknown attribute: {field[:40]}")
                include.add(keyword)
                if len(include) > MAX_INCLUDE_FIELDS:
                    raise InvalidQuery(f"includefield names more than {MAX_INCLUDE_FIELDS}")
        elif name.startswith("_") or "." in name:
            unknown.append(name[:40])  # sequence matching (a.b) is not supported
        else:
            keyword = _keyword(name)
            if keyword is None:
                raise InvalidQuery(f"unknown query attribute: {name[:40]}")
            filters[keyword] = value
    filters.update(path_filters)
    return QidoQuery(
        level, filters, frozenset(include), include_all, limit, offset, fuzzy, tuple(unknown)
    )


def _vr(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    if tag is None:
        return "UN"
    vr = dictionary_VR(tag)
    return vr.split(" or ")[0]


def _tag(keyword: str) -> str:
    tag = tag_for_keyword(keyword)
    assert tag is not None
    return f"{tag:08X}"


def element(keyword: str, value: Any) -> dict[str, Any]:
    """One attribute as a DICOM JSON element."""
    tag = tag_for_keyword(keyword)
    vr = _vr(keyword)
    if tag is None:
        return {"vr": vr}
    return attribute_json(tag, vr, None if value == [] else value)


def _defaults(query: QidoQuery, path_filters: Mapping[str, str]) -> tuple[str, ...]:
    if query.level == "STUDY":
        return STUDY_DEFAULTS
    if query.level == "SERIES":
        study = () if "StudyInstanceUID" in path_filters else STUDY_DEFAULTS
        return SERIES_DEFAULTS + study
    series = () if "SeriesInstanceUID" in path_filters else SERIES_DEFAULTS
    study = () if "StudyInstanceUID" in path_filters else STUDY_DEFAULTS
    return INSTANCE_DEFAULTS + series + study


def retrieve_url(row: IndexRow, base: str = BASE_PATH) -> str:
    attrs = row.attributes
    series = attrs["SeriesInstanceUID"] if row.level in ("SERIES", "IMAGE") else None
    sop = attrs["SOPInstanceUID"] if row.level == "IMAGE" else None
    return base + resource_path(attrs["StudyInstanceUID"], series, sop)


def row_to_json(
    row: IndexRow, query: QidoQuery, path_filters: Mapping[str, str], base: str = BASE_PATH
) -> dict[str, Any]:
    """One match as a DICOM JSON object with the attributes the query asks for."""
    wanted: list[str] = list(_defaults(query, path_filters))
    wanted += [k for k in query.filters if k in row.attributes]
    wanted += [k for k in query.includefield if k in row.attributes]
    if query.include_all:
        wanted += [k for k in row.attributes if k not in _NOT_RETURNED]
    out: dict[str, Any] = {"00080005": {"vr": "CS", "Value": ["ISO_IR 192"]}}
    for keyword in dict.fromkeys(wanted):
        if tag_for_keyword(keyword) is None:
            continue
        out[_tag(keyword)] = element(keyword, row.attributes.get(keyword))
    out["00080056"] = {"vr": "CS", "Value": ["ONLINE"]}  # InstanceAvailability
    out["00081190"] = {"vr": "UR", "Value": [retrieve_url(row, base)]}
    return dict(sorted(out.items()))
