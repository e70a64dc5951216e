"""queries.search: DICOM attribute matching shared by QIDO-RS and C-FIND (PS3.4 C.2.2.2)."""

from __future__ import annotations

from typing import Any

import pytest

from hounsfield.db import transaction, utcnow
from hounsfield.ingest.service import store_instance
from hounsfield.studies.models import Study
from hounsfield.studies.queries import IndexRow, InvalidFilter, search
from tests.dicom_factory import make_dataset, to_bytes


def add(**overrides: Any) -> Any:
    ds = make_dataset(**overrides)
    with transaction(write=True) as session:
        store_instance(session, to_bytes(ds), origin="test")
    return ds


def find(level: str, fuzzy: bool = False, **filters: str) -> tuple[list[IndexRow], int]:
    with transaction() as session:
        return search(session, level, filters, fuzzy=fuzzy)  # type: ignore[arg-type]


def study_ids(**filters: str) -> set[str]:
    rows, total = find("STUDY", **filters)
    assert total == len(rows)
    return {row["PatientID"] for row in rows}


@pytest.fixture
def archive() -> dict[str, Any]:
    """Five studies with varied attributes."""
    a = add(
        PatientID="A1",
        PatientName="Smith^John",
        StudyDate="20240105",
        StudyTime="083000",
        AccessionNumber="ACC_1",
        Modality="CT",
        StudyDescription="CT HEAD",
    )
    b = add(
        PatientID="B2",
        PatientName="SMITHERS^Anna",
        StudyDate="20240120",
        StudyTime="141500",
        AccessionNumber="ACC%2",
        Modality="MR",
        StudyDescription="MR KNEE",
    )
    c = add(
        PatientID="C3",
        PatientName="Zhang^Wei=张^伟",
        StudyDate="20240201",
        StudyTime="1200",
        AccessionNumber="ACCX3",
        Modality="CT",
        SpecificCharacterSet="GB18030",
    )
    d = add(
        PatientID="D4",
        PatientName="Li^Na=李^娜",
        StudyDate="20231231",
        StudyTime="235959",
        AccessionNumber="ACC14",
        Modality="DX",
        SpecificCharacterSet="ISO_IR 192",
    )
    e = add(
        PatientID="E5",
        PatientName="O'Brien^Pat",
        StudyDate="",
        StudyTime="",
        AccessionNumber="",
        Modality="US",
    )
    add(
        StudyInstanceUID=a.StudyInstanceUID,
        PatientID="A1",
        PatientName="Smith^John",
        Modality="SR",
        Rows=None,
        Columns=None,
    )
    return {"a": a, "b": b, "c": c, "d": d, "e": e}  # fmt: skip


def test_single_value_matching_is_exact(archive: dict[str, Any]) -> None:
    assert study_ids(PatientID="A1") == {"A1"}
    assert study_ids(PatientID="A") == set()
    assert study_ids(AccessionNumber="ACC14") == {"D4"}


def test_empty_and_star_are_universal(archive: dict[str, Any]) -> None:
    assert len(study_ids()) == 5
    assert len(study_ids(PatientID="", AccessionNumber="*")) == 5


def test_wildcards(archive: dict[str, Any]) -> None:
    assert study_ids(PatientID="?1") == {"A1"}
    assert study_ids(AccessionNumber="ACC*") == {"A1", "B2", "C3", "D4"}
    assert study_ids(StudyDescription="*KNEE") == {"B2"}


def test_like_metacharacters_are_literal(archive: dict[str, Any]) -> None:
    # '_' and '%' in the value must not act as LIKE wildcards (SECURITY.md I9).
    assert study_ids(AccessionNumber="ACC_*") == {"A1"}
    assert study_ids(AccessionNumber="ACC%*") == {"B2"}
    assert study_ids(AccessionNumber="ACC%2") == {"B2"}
    assert study_ids(PatientName="O'Brien*") == {"E5"}


def test_date_ranges(archive: dict[str, Any]) -> None:
    assert study_ids(StudyDate="20240105") == {"A1"}
    assert study_ids(StudyDate="20240101-20240131") == {"A1", "B2"}
    assert study_ids(StudyDate="20240120-") == {"B2", "C3"}
    assert study_ids(StudyDate="-20240105") == {"A1", "D4"}
    assert study_ids(StudyDate="2024-02-01") == {"C3"}


def test_time_ranges(archive: dict[str, Any]) -> None:
    assert study_ids(StudyTime="0800-0900") == {"A1"}
    assert study_ids(StudyTime="12") == {"C3"}
    assert study_ids(StudyTime="1400-") == {"B2", "D4"}
    assert study_ids(StudyTime="-083000") == {"A1"}


@pytest.mark.parametrize(
    ("keyword", "value"),
    [("StudyDate", "2024013"), ("StudyDate", "20241301"), ("StudyDate", "-"),
     ("StudyTime", "25x"), ("StudyInstanceUID", "1.02"), ("StudyInstanceUID", "../x"),
     ("SeriesNumber", "one")],
)  # fmt: skip
def test_invalid_values_are_refused(archive: dict[str, Any], keyword: str, value: str) -> None:
    with pytest.raises(InvalidFilter):
        find("SERIES", **{keyword: value})


def test_uid_lists(archive: dict[str, Any]) -> None:
    uids = f"{archive['a'].StudyInstanceUID}\\{archive['c'].StudyInstanceUID}"
    assert study_ids(StudyInstanceUID=uids) == {"A1", "C3"}
    assert study_ids(StudyInstanceUID=archive["b"].StudyInstanceUID) == {"B2"}


def test_modalities_in_study_matches_any_series(archive: dict[str, Any]) -> None:
    assert study_ids(ModalitiesInStudy="SR") == {"A1"}
    assert study_ids(ModalitiesInStudy="CT") == {"A1", "C3"}
    assert study_ids(ModalitiesInStudy="MR\\DX") == {"B2", "D4"}
    rows, _ = find("STUDY", PatientID="A1")
    assert rows[0]["ModalitiesInStudy"] == ["CT", "SR"]
    assert rows[0]["NumberOfStudyRelatedSeries"] == 2


def test_person_names_match_case_insensitively(archive: dict[str, Any]) -> None:
    assert study_ids(PatientName="smith^john") == {"A1"}
    assert study_ids(PatientName="SMITH*") == {"A1", "B2"}
    assert study_ids(PatientName="smith") == set()
    assert study_ids(PatientName="Smith^John^^") == {"A1"}


def test_fuzzy_matching_finds_name_components_by_prefix(archive: dict[str, Any]) -> None:
    rows, _ = find("STUDY", fuzzy=True, PatientName="joh")
    assert {r["PatientID"] for r in rows} == {"A1"}
    rows, _ = find("STUDY", fuzzy=True, PatientName="smith")
    assert {r["PatientID"] for r in rows} == {"A1", "B2"}
    rows, _ = find("STUDY", fuzzy=True, PatientName="anna smi")
    assert {r["PatientID"] for r in rows} == {"B2"}


def test_chinese_names_from_gb18030_and_utf8(archive: dict[str, Any]) -> None:
    assert study_ids(PatientName="张^伟") == {"C3"}
    assert study_ids(PatientName="张*") == {"C3"}
    assert study_ids(PatientName="李^娜") == {"D4"}
    assert study_ids(PatientName="Zhang^Wei=张^伟") == {"C3"}
    assert study_ids(PatientName="zhang^wei") == {"C3"}
    rows, _ = find("STUDY", fuzzy=True, PatientName="伟")
    assert {r["PatientID"] for r in rows} == {"C3"}
    rows, _ = find("STUDY", PatientID="C3")
    assert rows[0]["PatientName"] == "Zhang^Wei=张^伟"


def test_levels_and_their_attributes(archive: dict[str, Any]) -> None:
    patients, total = find("PATIENT", PatientID="A1")
    assert total == 1
    assert patients[0]["NumberOfPatientRelatedStudies"] == 1
    series, total = find("SERIES", StudyInstanceUID=archive["a"].StudyInstanceUID)
    assert total == 2
    assert {s["Modality"] for s in series} == {"CT", "SR"}
    images, total = find("IMAGE", Modality="CT")
    assert total == 2
    assert all(i.storage_key and i.sha256 and i["Rows"] == 16 for i in images)
    one, _ = find("IMAGE", SOPInstanceUID=archive["b"].SOPInstanceUID)
    assert one[0]["StudyInstanceUID"] == archive["b"].StudyInstanceUID
    assert one[0]["PatientBirthDate"] == "19700101"


def test_paging_reports_the_total(archive: dict[str, Any]) -> None:
    with transaction() as session:
        first, total = search(session, "STUDY", {}, limit=2, offset=0)
        rest, total2 = search(session, "STUDY", {}, limit=10, offset=2)
    assert total == total2 == 5
    assert len(first) == 2
    assert len(rest) == 3
    assert {r["StudyInstanceUID"] for r in first}.isdisjoint(r["StudyInstanceUID"] for r in rest)


def test_soft_deleted_studies_never_match(archive: dict[str, Any]) -> None:
    with transaction(write=True) as session:
        study = (
            session.query(Study).filter_by(study_instance_uid=archive["a"].StudyInstanceUID).one()
        )
        study.deleted_at = utcnow()
    assert "A1" not in study_ids()
    assert find("IMAGE", PatientID="A1")[1] == 0
    assert find("PATIENT", PatientID="A1")[1] == 0


def test_injection_attempts_are_just_values(archive: dict[str, Any]) -> None:
    assert study_ids(PatientID="' OR '1'='1") == set()
    assert study_ids(PatientName="*' OR 1=1 --") == set()
    assert len(study_ids()) == 5
