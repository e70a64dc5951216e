"""A later study never rewrites an earlier one's patient attributes (issue 12.9d)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi.testclient import TestClient

from hounsfield.db import transaction
from hounsfield.ingest.service import ingest
from hounsfield.studies import queries
from tests.dicom_factory import make_dataset, to_bytes


def _two_studies() -> tuple[str, str]:
    first = make_dataset(PatientID="P-9", PatientSex="F", PatientBirthDate="19800101")
    later = make_dataset(
        PatientID="P-9", PatientSex="M", PatientBirthDate="19810202", PatientName="Doe^Jo"
    )
    for ds in (first, later):
        assert ingest(to_bytes(ds), origin="test").status == "stored"
    return str(first.StudyInstanceUID), str(later.StudyInstanceUID)


def test_qido_answers_each_study_with_its_own_demographics(
    client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    first, later = _two_studies()
    headers = {**auth_headers("doctor"), "Accept": "application/dicom+json"}
    found = client.get("/dicom-web/studies?PatientID=P-9", headers=headers).json()
    by_study = {s["0020000D"]["Value"][0]: s for s in found}
    assert by_study[first]["00100040"]["Value"] == ["F"]
    assert by_study[first]["00100030"]["Value"] == ["19800101"]
    assert by_study[first]["00100010"]["Value"][0]["Alphabetic"] == "Doe^Jane"
    assert by_study[later]["00100040"]["Value"] == ["M"]
    assert by_study[later]["00100030"]["Value"] == ["19810202"]
    only_f = client.get("/dicom-web/studies?PatientID=P-9&PatientSex=F", headers=headers).json()
    assert [s["0020000D"]["Value"][0] for s in only_f] == [first]


def test_c_find_matches_and_answers_per_study() -> None:
    first, later = _two_studies()
    with transaction() as session:
        rows, _ = queries.search(session, "STUDY", {"PatientBirthDate": "19800101"})
        assert [r["StudyInstanceUID"] for r in rows] == [first]
        rows, _ = queries.search(session, "SERIES", {"PatientID": "P-9"})
        sexes = {r["StudyInstanceUID"]: r["PatientSex"] for r in rows}
    assert sexes == {first: "F", later: "M"}
