"""A DICOM peer of one department finds and retrieves only that department's studies
(SECURITY.md A6, DIMSE part): findscu and getscu from a scoped AE."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread

from hounsfield.ingest.service import ingest
from tests.dicom_factory import make_dataset, to_bytes
from tests.dimse.conftest import run
from tests.dimse.test_query import findscu


@pytest.fixture
def two_departments() -> dict[str, str]:
    studies = {}
    for department in ("CARDIOLOGY", "NEUROLOGY"):
        ds = make_dataset(InstitutionalDepartmentName=department, PatientID=f"{department[:5]}-1")
        assert ingest(to_bytes(ds), origin="test").status == "stored"
        studies[department] = str(ds.StudyInstanceUID)
    return studies


def _getscu(port: int, out: Path, aet: str, study: str) -> list[str]:
    out.mkdir()
    result = run(["/usr/bin/getscu", "-S", "-aet", aet, "-aec", "HOUNSFIELD", "-od", str(out),
                  "-k", "QueryRetrieveLevel=STUDY", "-k", f"StudyInstanceUID={study}",
                  "127.0.0.1", str(port)])  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [str(dcmread(p).StudyInstanceUID) for p in out.iterdir()]


def test_a_scoped_ae_finds_and_gets_only_its_department(
    listener: Any, register: Callable[..., Any], two_departments: dict[str, str], tmp_path: Path
) -> None:
    register("CARDIO_WS", operations=["find", "get"], department="CARDIOLOGY")
    register("ANY_WS", operations=["find", "get"])
    cardio, neuro = two_departments["CARDIOLOGY"], two_departments["NEUROLOGY"]

    for level, n in (("STUDY", "s"), ("SERIES", "e"), ("IMAGE", "i")):
        found = findscu(listener.port, tmp_path / f"{n}1", "-S",
                        [f"QueryRetrieveLevel={level}", "StudyInstanceUID"] +
                        (["SeriesInstanceUID"] if level != "STUDY" else []) +
                        (["SOPInstanceUID"] if level == "IMAGE" else []),
                        aet="CARDIO_WS")  # fmt: skip
        assert {str(ds.StudyInstanceUID) for ds in found} == {cardio}, level
    patients = findscu(listener.port, tmp_path / "p", "-P",
                       ["QueryRetrieveLevel=PATIENT", "PatientID"], aet="CARDIO_WS")  # fmt: skip
    assert [str(ds.PatientID) for ds in patients] == ["CARDI-1"]
    by_uid = findscu(listener.port, tmp_path / "u", "-S",
                     ["QueryRetrieveLevel=IMAGE", f"StudyInstanceUID={neuro}", "SOPInstanceUID"],
                     aet="CARDIO_WS")  # fmt: skip
    assert by_uid == []

    assert _getscu(listener.port, tmp_path / "g1", "CARDIO_WS", neuro) == []
    assert _getscu(listener.port, tmp_path / "g2", "CARDIO_WS", cardio) == [cardio]
    unscoped = findscu(listener.port, tmp_path / "all", "-S",
                       ["QueryRetrieveLevel=STUDY", "StudyInstanceUID"], aet="ANY_WS")  # fmt: skip
    assert {str(ds.StudyInstanceUID) for ds in unscoped} == {cardio, neuro}
