"""Index queries shared by QIDO-RS and C-FIND: DICOM attribute matching (PS3.4 C.2.2.2).

Filters map a DICOM keyword to a DICOM-encoded matching value:
- empty or ``*``: universal matching (the key is returned, not matched);
- ``\\``-separated UIDs: list of UID matching (C.2.2.2.2);
- ``*`` / ``?``: wildcard matching (C.2.2.2.4), as LIKE with ``%`` and ``_`` escaped;
- ``a-b``, ``a-``, ``-b`` on dates and times: range matching (C.2.2.2.5);
- anything else: single value matching (C.2.2.2.1).
Person names match case-insensitively, against each component group (alphabetic,
ideographic, phonetic); ``fuzzy=True`` also matches a name whose components start with
the words given (PS3.18 §8.3.4.1 fuzzymatching). Soft-deleted rows never match.
Every value reaches the database as a bound parameter.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

from sqlalchemy import ColumnElement, and_, exists, false, func, or_, select, true
from sqlalchemy.orm import Session, aliased
from sqlalchemy.sql.elements import ColumnElement as Col

from hounsfield.auth import scope
from hounsfield.dicom.charset import fold_accents, normalize_text
from hounsfield.dicom.uids import is_valid_uid, split_uid_list
from hounsfield.errors import BadRequest
from hounsfield.studies.models import Instance, Patient, Series, Study, public_issuer

__all__ = [
    "LEVELS",
    "SUPPORTED",
    "IndexRow",
    "InvalidFilter",
    "Level",
    "conditions",
    "search",
    "unsupported",
]

Level = Literal["PATIENT", "STUDY", "SERIES", "IMAGE"]
LEVELS: tuple[Level, ...] = ("PATIENT", "STUDY", "SERIES", "IMAGE")
ESCAPE = "/"

# Bounds on what a query may ask of the database (issue 14.8): IS/SL values are 32-bit
# signed (PS3.5 Table 6.2-1); longer lists or more words would only build SQL expressions
# too large for the database (SQLite's depth limit is 1000), never a meaningful query.
INT_RANGE = (-(2**31), 2**31 - 1)
MAX_LIST_VALUES = 100
MAX_WORDS = 16
MAX_VALUE_CHARS = 512  # PN is 3 groups × 64 chars; LO 64, LT 10240 is never matched here


class InvalidFilter(BadRequest):
    """A matching value is not valid for its attribute."""

    code = "invalid_filter"


# Patient attributes each study keeps as its own instances gave them (issue 12.9d).
STUDY_PATIENT_COLUMNS: dict[str, Any] = {
    "PatientBirthDate": Study.patient_birth_date,
    "PatientSex": Study.patient_sex,
}

Kind = Literal["uid", "string", "pn", "date", "time", "int", "modalities", "cs_list"]

# keyword → (level it belongs to, how it matches, the column)
SUPPORTED: dict[str, tuple[Level, Kind, Any]] = {
    "PatientID": ("PATIENT", "string", Patient.patient_id),
    "IssuerOfPatientID": ("PATIENT", "string", Patient.issuer_of_patient_id),
    "PatientName": ("PATIENT", "pn", None),
    "PatientBirthDate": ("PATIENT", "date", Patient.birth_date),
    "PatientSex": ("PATIENT", "string", Patient.sex),
    "StudyInstanceUID": ("STUDY", "uid", Study.study_instance_uid),
    "StudyDate": ("STUDY", "date", Study.study_date),
    "StudyTime": ("STUDY", "time", Study.study_time),
    "AccessionNumber": ("STUDY", "string", Study.accession_number),
    "StudyID": ("STUDY", "string", Study.study_id),
    "StudyDescription": ("STUDY", "string", Study.study_description),
    "ReferringPhysicianName": ("STUDY", "pn", None),
    "ModalitiesInStudy": ("STUDY", "modalities", None),
    "SeriesInstanceUID": ("SERIES", "uid", Series.series_instance_uid),
    "Modality": ("SERIES", "cs_list", Series.modality),
    "SeriesNumber": ("SERIES", "int", Series.series_number),
    "SeriesDescription": ("SERIES", "string", Series.series_description),
    "BodyPartExamined": ("SERIES", "string", Series.body_part_examined),
    "SOPInstanceUID": ("IMAGE", "uid", Instance.sop_instance_uid),
    "SOPClassUID": ("IMAGE", "uid", Instance.sop_class_uid),
    "InstanceNumber": ("IMAGE", "int", Instance.instance_number),
}


@dataclass(frozen=True)
class IndexRow(Mapping[str, Any]):
    """One match: its DICOM attributes by keyword (``row["PatientName"]``), plus references.

    Values are Python values, ``None`` when absent: strings (PN as ``alpha=ideo=phon``),
    DA as ``YYYYMMDD``, TM as ``HHMMSS[.ffffff]``, IS/US as ``int``, ModalitiesInStudy as a
    list of strings.
    """

    level: Level
    attributes: dict[str, Any]
    study_pk: int | None = None
    series_pk: int | None = None
    instance_pk: int | None = None
    storage_key: str | None = None
    size: int | None = None
    sha256: str | None = None
    metadata_version: int | None = None
    received_at: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.attributes[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.attributes)

    def __len__(self) -> int:
        return len(self.attributes)


def unsupported(filters: Mapping[str, str]) -> list[str]:
    """Keywords with a non-universal value that `search` ignores (for a warning)."""
    return [k for k, v in filters.items() if k not in SUPPORTED and _value(v) not in ("", "*")]


def search(
    session: Session,
    level: Level,
    filters: Mapping[str, str],
    *,
    limit: int | None = None,
    offset: int = 0,
    fuzzy: bool = False,
) -> tuple[list[IndexRow], int]:
    """Rows of `level` matching every filter, and the total count of matches."""
    if level not in LEVELS:
        raise InvalidFilter(f"unknown query level {level!r}")
    primary, query = _base(level)
    where = conditions(level, filters, fuzzy=fuzzy)
    query = query.where(*where)
    total = session.scalar(
        select(func.count()).select_from(query.with_only_columns(primary.id).subquery())
    )
    query = query.order_by(primary.id).offset(max(offset, 0))
    if limit is not None:
        query = query.limit(max(limit, 0))
    rows = [_row(level, result) for result in session.execute(query).all()]
    return rows, int(total or 0)


def _base(level: Level) -> tuple[Any, Any]:
    live_study = and_(Study.deleted_at.is_(None), scope.visible())  # A6: the reader's scope
    if level == "PATIENT":
        has_study = exists().where(Study.patient_pk == Patient.id, live_study)
        n_studies = (
            select(func.count(Study.id))
            .where(Study.patient_pk == Patient.id, live_study)
            .correlate(Patient)
            .scalar_subquery()
        )
        return Patient, select(Patient, n_studies).where(has_study)
    if level == "STUDY":
        return Study, select(Study, Patient).join(Patient).where(live_study)
    live = and_(live_study, Series.deleted_at.is_(None))
    if level == "SERIES":
        return Series, (
            select(Series, Study, Patient)
            .join(Study, Series.study_pk == Study.id)
            .join(Patient, Study.patient_pk == Patient.id)
            .where(live)
        )
    return Instance, (
        select(Instance, Series, Study, Patient)
        .join(Series, Instance.series_pk == Series.id)
        .join(Study, Series.study_pk == Study.id)
        .join(Patient, Study.patient_pk == Patient.id)
        .where(live, Instance.deleted_at.is_(None))
    )


def conditions(
    level: Level, filters: Mapping[str, str], *, fuzzy: bool = False
) -> list[ColumnElement[bool]]:
    """SQL conditions for the filters that apply at `level` (its own and the levels above)."""
    depth = LEVELS.index(level)
    result: list[ColumnElement[bool]] = []
    for keyword, raw in filters.items():
        spec = SUPPORTED.get(keyword)
        if spec is None:
            continue
        attr_level, kind, column = spec
        if LEVELS.index(attr_level) > depth:
            continue  # a lower level's key: not matchable here
        if depth > 0:  # below the patient, each study answers with its own demographics
            column = STUDY_PATIENT_COLUMNS.get(keyword, column)
        value = _value(raw)
        if value in ("", "*"):
            continue
        result.append(_condition(keyword, kind, column, value, fuzzy))
    return result


def _value(raw: object) -> str:
    if raw is None:
        return ""
    if isinstance(raw, list | tuple):
        return "\\".join(str(v) for v in raw).strip(" \x00")
    return str(raw).strip(" \x00")


def _list(keyword: str, values: list[str]) -> list[str]:
    if len(values) > MAX_LIST_VALUES:
        raise InvalidFilter(f"{keyword} lists more than {MAX_LIST_VALUES} values")
    return values


def _condition(keyword: str, kind: Kind, column: Any, value: str, fuzzy: bool) -> Col[bool]:
    if kind != "uid" and len(value) > MAX_VALUE_CHARS:
        raise InvalidFilter(f"{keyword} is longer than {MAX_VALUE_CHARS} characters")
    if kind == "uid":
        uids = _list(keyword, split_uid_list(value))
        if not uids or not all(is_valid_uid(u) for u in uids):
            raise InvalidFilter(f"{keyword} must be a UID or a \\-separated list of UIDs")
        return column.in_(uids) if len(uids) > 1 else column == uids[0]  # type: ignore[no-any-return]
    if kind == "string":
        return _match(column, value)
    if kind == "cs_list":
        parts = _list(keyword, [p.strip() for p in value.split("\\") if p.strip()])
        return or_(*(_match(column, p) for p in parts)) if parts else false()
    if kind == "int":
        try:
            number = int(value)
        except ValueError as exc:
            raise InvalidFilter(f"{keyword} must be an integer") from exc
        if not INT_RANGE[0] <= number <= INT_RANGE[1]:
            raise InvalidFilter(f"{keyword} must be a 32-bit integer")
        return column == number  # type: ignore[no-any-return]
    if kind == "date":
        return _date_range(keyword, column, value)
    if kind == "time":
        return _time_range(keyword, column, value)
    if kind == "modalities":
        parts = _list(keyword, [p.strip() for p in value.split("\\") if p.strip()])
        # Another series of the study: at SERIES and IMAGE level the outer query has its
        # own Series, which an unaliased subquery would correlate away (no FROM left).
        other = aliased(Series)
        return exists().where(
            other.study_pk == Study.id,
            other.deleted_at.is_(None),
            or_(*(_match(other.modality, p) for p in parts)),
        )
    if keyword == "PatientName":
        return _patient_name(value, fuzzy)
    return _words_match(Study.referring_physician_search, value, fuzzy=True)


def _has_wildcard(value: str) -> bool:
    return "*" in value or "?" in value


def like_pattern(value: str) -> str:
    """A DICOM wildcard pattern as a LIKE pattern (escape character ``/``)."""
    escaped = value.replace(ESCAPE, ESCAPE * 2).replace("%", "/%").replace("_", "/_")
    return escaped.replace("*", "%").replace("?", "_")


def _match(column: Any, value: str) -> Col[bool]:
    if _has_wildcard(value):
        return column.like(like_pattern(value), escape=ESCAPE)  # type: ignore[no-any-return]
    return column == value  # type: ignore[no-any-return]


def _clean_pn(value: str) -> str:
    return "^".join(c.strip() for c in value.split("^")).rstrip("^")


def _patient_name(value: str, fuzzy: bool) -> Col[bool]:
    pattern = normalize_text(value)
    groups = [Patient.name_alphabetic, Patient.name_ideographic, Patient.name_phonetic]
    if "=" in pattern:
        parts = [_clean_pn(p) for p in pattern.split("=")][:3]
        exact = and_(*(_match(col, part) for col, part in zip(groups, parts, strict=False) if part))
    else:
        cleaned = _clean_pn(pattern)
        exact = or_(*(_match(col, cleaned) for col in groups))
    if not fuzzy:
        return exact
    return or_(exact, _words_match(Patient.name_search, value, fuzzy=True))


_WORD_SPLIT = re.compile(r"[\s\^=,]+")


def _words_match(column: Any, value: str, *, fuzzy: bool) -> Col[bool]:
    """Each word of `value` starts a word of the search column (case- and accent-
    insensitive: the column holds each accented word folded too, see `search_text`)."""
    words = [w for w in _WORD_SPLIT.split(fold_accents(normalize_text(value))) if w.strip("*")]
    if not words:
        return true()
    if len(words) > MAX_WORDS:
        raise InvalidFilter(f"a fuzzy name match takes at most {MAX_WORDS} words")
    return and_(
        *(column.like("% " + like_pattern(w.rstrip("*")) + "%", escape=ESCAPE) for w in words)
    )


def contains_text(column: Any, text: str) -> Col[bool]:
    """Case-insensitive substring match of normalized `text` (no wildcards)."""
    needle = like_pattern(normalize_text(text).replace("*", "").replace("?", ""))
    return column.like("%" + needle + "%", escape=ESCAPE)  # type: ignore[no-any-return]


_ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")


def _parse_date(keyword: str, text: str) -> date:
    digits = text.replace("-", "") if _ISO_DATE.fullmatch(text) else text.replace(".", "")
    if len(digits) != 8 or not digits.isdigit():
        raise InvalidFilter(f"{keyword} must be a date YYYYMMDD or a range of them")
    try:
        return date(int(digits[:4]), int(digits[4:6]), int(digits[6:]))
    except ValueError as exc:
        raise InvalidFilter(f"{keyword} must be a valid date") from exc


def _date_range(keyword: str, column: Any, value: str) -> Col[bool]:
    if _ISO_DATE.fullmatch(value) or "-" not in value:
        return column == _parse_date(keyword, value)  # type: ignore[no-any-return]
    low, _, high = value.partition("-")
    if not low and not high:
        raise InvalidFilter(f"{keyword} range needs at least one bound")
    parts: list[Col[bool]] = []
    if low:
        parts.append(column >= _parse_date(keyword, low))
    if high:
        parts.append(column <= _parse_date(keyword, high))
    return and_(*parts)


_TM = re.compile(r"(\d{2}(?:\d{2}(?:\d{2})?)?)(?:\.(\d{1,6}))?")


def _time_bound(keyword: str, text: str, *, upper: bool) -> str:
    match = _TM.fullmatch(text.replace(":", ""))
    if match is None:
        raise InvalidFilter(f"{keyword} must be a time HHMMSS or a range of them")
    whole, fraction = match.group(1), match.group(2)
    if fraction:
        return f"{whole}.{fraction}" + ("9" * (6 - len(fraction)) if upper else "")
    if upper:  # a bound given to the minute includes the whole minute, and so on
        return whole + "595959"[len(whole) - 2 :][: 6 - len(whole)] + ".999999"
    return whole.ljust(6, "0")


def _time_range(keyword: str, column: Any, value: str) -> Col[bool]:
    low, sep, high = value.partition("-")
    if not sep:
        low = high = value
    if not low and not high:
        raise InvalidFilter(f"{keyword} range needs at least one bound")
    parts: list[Col[bool]] = [column != ""]
    if low:
        parts.append(column >= _time_bound(keyword, low, upper=False))
    if high:
        parts.append(column <= _time_bound(keyword, high, upper=True))
    return and_(*parts)


# -- rows -----------------------------------------------------------------------------------


def _none(value: str | None) -> str | None:
    return value or None


def _da(value: date | None) -> str | None:
    return value.strftime("%Y%m%d") if value else None


def patient_attributes(p: Patient) -> dict[str, Any]:
    return {
        "PatientName": _none(p.patient_name),
        "PatientID": _none(p.patient_id),
        "IssuerOfPatientID": _none(public_issuer(p.issuer_of_patient_id)),
        "PatientBirthDate": _da(p.birth_date),
        "PatientSex": _none(p.sex),
    }


def study_attributes(s: Study) -> dict[str, Any]:
    return {
        "PatientName": _none(s.patient_name),
        "PatientBirthDate": _da(s.patient_birth_date),
        "PatientSex": _none(s.patient_sex),
        "StudyInstanceUID": s.study_instance_uid,
        "StudyDate": _da(s.study_date),
        "StudyTime": _none(s.study_time),
        "AccessionNumber": _none(s.accession_number),
        "StudyID": _none(s.study_id),
        "StudyDescription": _none(s.study_description),
        "ReferringPhysicianName": _none(s.referring_physician_name),
        "ModalitiesInStudy": s.modalities or None,
        "NumberOfStudyRelatedSeries": s.number_of_series,
        "NumberOfStudyRelatedInstances": s.number_of_instances,
    }


def series_attributes(s: Series) -> dict[str, Any]:
    return {
        "SeriesInstanceUID": s.series_instance_uid,
        "Modality": _none(s.modality),
        "SeriesNumber": s.series_number,
        "SeriesDescription": _none(s.series_description),
        "BodyPartExamined": _none(s.body_part_examined),
        "NumberOfSeriesRelatedInstances": s.number_of_instances,
    }


def instance_attributes(i: Instance) -> dict[str, Any]:
    return {
        "SOPInstanceUID": i.sop_instance_uid,
        "SOPClassUID": i.sop_class_uid,
        "InstanceNumber": i.instance_number,
        "Rows": i.rows,
        "Columns": i.columns,
        "NumberOfFrames": i.number_of_frames,
        "BitsAllocated": i.bits_allocated,
        "PhotometricInterpretation": _none(i.photometric_interpretation),
        "TransferSyntaxUID": i.transfer_syntax_uid,
        "AvailableTransferSyntaxUID": i.transfer_syntax_uid,
    }


def _row(level: Level, result: Any) -> IndexRow:
    if level == "PATIENT":
        patient, n_studies = result
        attrs = patient_attributes(patient)
        attrs["NumberOfPatientRelatedStudies"] = int(n_studies or 0)
        return IndexRow(level, attrs)
    if level == "STUDY":
        study, patient = result
        attrs = {**patient_attributes(patient), **study_attributes(study)}
        return IndexRow(level, attrs, study_pk=study.id, received_at=study.received_at)
    if level == "SERIES":
        series, study, patient = result
        attrs = {
            **patient_attributes(patient),
            **study_attributes(study),
            **series_attributes(series),
        }
        return IndexRow(
            level,
            attrs,
            study_pk=study.id,
            series_pk=series.id,
            metadata_version=series.metadata_version,
            received_at=series.received_at,
        )
    instance, series, study, patient = result
    attrs = {
        **patient_attributes(patient),
        **study_attributes(study),
        **series_attributes(series),
        **instance_attributes(instance),
    }
    return IndexRow(
        level,
        attrs,
        study_pk=study.id,
        series_pk=series.id,
        instance_pk=instance.id,
        storage_key=instance.storage_key,
        size=instance.size,
        sha256=instance.sha256,
        metadata_version=series.metadata_version,
        received_at=instance.received_at,
    )
