"""C-FIND (Patient/Study Root, every level, wildcards, ranges, Chinese names) and the MWL."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from pynetdicom import AE

from hounsfield.dimse.common import (
    ModalityWorklistInformationFind,
    StudyRootQueryRetrieveInformationModelFind,
)
from hounsfield.ingest.service import ingest
from tests.dicom_factory import make_dataset, to_bytes
from tests.dimse.conftest import run

STUDY_A, STUDY_B, STUDY_C = (
    "1.2.826.0.1.3680043.10.1.1",
    "1.2.826.0.1.3680043.10.1.2",
    ("1.2.826.0.1.3680043.10.1.3"),
)
SERIES_A1, SERIES_A2 = "1.2.826.0.1.3680043.10.2.1", "1.2.826.0.1.3680043.10.2.2"


def _store(**attributes: Any) -> None:
    outcome = ingest(to_bytes(make_dataset(**attributes)), origin="test")
    assert outcome.status == "stored", outcome


@pytest.fixture
def index() -> None:
    """Three patients: a UTF-8 Chinese name, a Latin one, a GB18030 one."""
    zhang = {"PatientID": "P1", "PatientName": "Zhang^Wei=张^伟", "StudyInstanceUID": STUDY_A,
             "StudyDate": "20240115", "AccessionNumber": "ACC-A"}  # fmt: skip
    _store(**zhang, SeriesInstanceUID=SERIES_A1, Modality="CT", InstanceNumber=1)
    _store(**zhang, SeriesInstanceUID=SERIES_A1, Modality="CT", InstanceNumber=2)
    _store(**zhang, SeriesInstanceUID=SERIES_A2, Modality="SR", InstanceNumber=1)
    _store(PatientID="P2", PatientName="Doe^Jane", StudyInstanceUID=STUDY_B,
           StudyDate="20240301", Modality="MR", AccessionNumber="ACC-B")  # fmt: skip
    _store(PatientID="Q3", PatientName="Wang^Fang=王^芳", SpecificCharacterSet="GB18030",
           StudyInstanceUID=STUDY_C, StudyDate="20231231", Modality="CT")  # fmt: skip


def findscu(
    port: int, directory: Path, model: str, keys: list[str], aet: str = "VIEWER"
) -> list[Dataset]:
    directory.mkdir(exist_ok=True)
    args = ["/usr/bin/findscu", model, "-X", "-od", str(directory), "-aet", aet,
            "-aec", "HOUNSFIELD", "127.0.0.1", str(port)]  # fmt: skip
    for key in keys:
        args[1:1] = ["-k", key]
    result = run(args)
    assert result.returncode == 0, result.stderr
    return [dcmread(p) for p in sorted(directory.glob("rsp*.dcm"))]


@pytest.fixture
def viewer(register: Callable[..., Any]) -> Any:
    return register("VIEWER", operations=["find", "move", "get"])


def test_unknown_and_lower_level_return_keys_come_back_empty(
    listener: Any, index: None, viewer: Any, tmp_path: Path
) -> None:
    found = findscu(listener.port, tmp_path / "k", "-S",
                    ["QueryRetrieveLevel=STUDY", f"StudyInstanceUID={STUDY_A}", "Rows",
                     "InstitutionName", "PatientBirthDate", "ReferencedStudySequence"])  # fmt: skip
    assert len(found) == 1
    assert found[0].Rows is None  # an IMAGE-level key at STUDY level: known to be empty
    assert found[0].InstitutionName in ("", None)  # not indexed
    assert found[0].PatientBirthDate == "19700101"
    assert found[0].ReferencedStudySequence == []


def test_patient_level_with_wildcard(
    listener: Any, index: None, viewer: Any, tmp_path: Path
) -> None:
    found = findscu(
        listener.port,
        tmp_path / "r",
        "-P",
        ["QueryRetrieveLevel=PATIENT", "PatientID=P*", "PatientName", "PatientSex"],
    )
    assert sorted(ds.PatientID for ds in found) == ["P1", "P2"]
    for ds in found:
        assert ds.QueryRetrieveLevel == "PATIENT"
        assert "PatientSex" in ds


def test_study_level_date_range_and_accession(
    listener: Any, index: None, viewer: Any, tmp_path: Path
) -> None:
    found = findscu(listener.port, tmp_path / "a", "-S",
                    ["QueryRetrieveLevel=STUDY", "StudyDate=20240101-20241231",
                     "StudyInstanceUID", "AccessionNumber", "ModalitiesInStudy",
                     "NumberOfStudyRelatedInstances"])  # fmt: skip
    assert sorted(ds.StudyInstanceUID for ds in found) == [STUDY_A, STUDY_B]
    a = next(ds for ds in found if ds.StudyInstanceUID == STUDY_A)
    assert a.AccessionNumber == "ACC-A"
    assert sorted(a.ModalitiesInStudy) == ["CT", "SR"]
    assert int(a.NumberOfStudyRelatedInstances) == 3
    assert a.RetrieveAETitle == "HOUNSFIELD"

    by_accession = findscu(listener.port, tmp_path / "b", "-S",
                           ["QueryRetrieveLevel=STUDY", "AccessionNumber=ACC-?",
                            "StudyInstanceUID"])  # fmt: skip
    assert len(by_accession) == 2
    from sqlalchemy import select

    from hounsfield.audit.models import AuditEvent
    from hounsfield.audit.service import flush_buffer
    from hounsfield.db import transaction

    flush_buffer()
    with transaction() as session:
        finds = list(session.scalars(select(AuditEvent).where(AuditEvent.action == "dimse.find")))
    assert len(finds) == 2
    assert finds[0].event_code == "110112"
    assert finds[0].client_ip == "127.0.0.1"
    assert finds[0].actor_username == "ae:VIEWER"


def test_series_and_image_levels(listener: Any, index: None, viewer: Any, tmp_path: Path) -> None:
    series = findscu(
        listener.port,
        tmp_path / "s",
        "-S",
        [
            "QueryRetrieveLevel=SERIES",
            f"StudyInstanceUID={STUDY_A}",
            "SeriesInstanceUID",
            "Modality",
            "NumberOfSeriesRelatedInstances",
        ],
    )
    assert {ds.SeriesInstanceUID: ds.Modality for ds in series} == {
        SERIES_A1: "CT",
        SERIES_A2: "SR",
    }
    images = findscu(
        listener.port,
        tmp_path / "i",
        "-P",
        [
            "QueryRetrieveLevel=IMAGE",
            "PatientID=P1",
            f"StudyInstanceUID={STUDY_A}",
            f"SeriesInstanceUID={SERIES_A1}",
            "SOPInstanceUID",
            "InstanceNumber",
        ],
    )
    assert sorted(int(ds.InstanceNumber) for ds in images) == [1, 2]
    uid_list = "\\".join(ds.SOPInstanceUID for ds in images)
    one = findscu(
        listener.port,
        tmp_path / "u",
        "-S",
        ["QueryRetrieveLevel=IMAGE", f"SOPInstanceUID={uid_list}"],
    )
    assert len(one) == 2


def test_chinese_name_utf8(listener: Any, index: None, viewer: Any, tmp_path: Path) -> None:
    found = findscu(listener.port, tmp_path / "z", "-S",
                    ["SpecificCharacterSet=ISO_IR 192", "QueryRetrieveLevel=STUDY",
                     "PatientName=*张*", "StudyInstanceUID"])  # fmt: skip
    assert [ds.StudyInstanceUID for ds in found] == [STUDY_A]
    assert found[0].SpecificCharacterSet == "ISO_IR 192"
    assert found[0].PatientName.ideographic == "张^伟"


def test_chinese_name_gb18030_is_answered_in_gb18030(
    listener: Any, index: None, viewer: Any
) -> None:
    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.SpecificCharacterSet = "GB18030"
    query.QueryRetrieveLevel = "STUDY"
    query.PatientName = "*王*"
    query.StudyInstanceUID = ""
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    assert assoc.is_established
    try:
        responses = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
    finally:
        assoc.release()
    matches = [ds for status, ds in responses if status.Status == 0xFF00]
    assert responses[-1][0].Status == 0x0000
    assert len(matches) == 1
    assert matches[0].SpecificCharacterSet == "GB18030"
    assert matches[0].StudyInstanceUID == STUDY_C
    assert "王^芳" in str(matches[0].PatientName)


def test_patient_level_refused_in_study_root(listener: Any, index: None, viewer: Any) -> None:
    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel = "PATIENT"
    query.PatientID = ""
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        responses = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
    finally:
        assoc.release()
    assert [status.Status for status, _ in responses] == [0xA900]


def test_unknown_ae_cannot_find(listener: Any, index: None) -> None:
    """SECURITY.md A10: `findscu -aet EVIL` → association rejected."""
    result = run(["/usr/bin/findscu", "-S", "-aet", "EVIL", "-aec", "HOUNSFIELD",
                  "-k", "QueryRetrieveLevel=STUDY", "-k", "StudyInstanceUID",
                  "127.0.0.1", str(listener.port)])  # fmt: skip
    assert result.returncode != 0
    assert "Association Rejected" in result.stderr + result.stdout


def test_worklist_is_empty_and_correct(listener: Any, viewer: Any, tmp_path: Path) -> None:
    found = findscu(listener.port, tmp_path / "w", "-W",
                    ["ScheduledProcedureStepSequence[0].Modality=CT",
                     "ScheduledProcedureStepSequence[0].ScheduledProcedureStepStartDate",
                     "PatientName", "PatientID", "AccessionNumber"])  # fmt: skip
    assert found == []
    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(ModalityWorklistInformationFind)
    query = Dataset()
    query.PatientName = "*"
    query.ScheduledProcedureStepSequence = [Dataset()]
    query.ScheduledProcedureStepSequence[0].Modality = "CT"
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        responses = list(assoc.send_c_find(query, ModalityWorklistInformationFind))
    finally:
        assoc.release()
    assert [status.Status for status, _ in responses] == [0x0000]


def test_matches_are_capped_with_a_cancel_status_and_a_comment(
    listener: Any, index: None, viewer: Any, settings_env: Callable[..., None], tmp_path: Path
) -> None:
    """SECURITY #14.12: more matches than `find_max_results` → that many, then FE00 + why."""
    from hounsfield.config import get_settings

    settings_env(HOUNSFIELD_DICOM__FIND_MAX_RESULTS="3")
    listener.settings = get_settings()
    listener.stop(grace_s=5)
    listener.start()
    ae = AE(ae_title="VIEWER")
    ae.add_requested_context(StudyRootQueryRetrieveInformationModelFind)
    query = Dataset()
    query.QueryRetrieveLevel = "IMAGE"
    query.PatientName = "*"
    query.SOPInstanceUID = ""
    assoc = ae.associate("127.0.0.1", listener.port, ae_title="HOUNSFIELD")
    try:
        responses = list(assoc.send_c_find(query, StudyRootQueryRetrieveInformationModelFind))
    finally:
        assoc.release()
    assert [status.Status for status, _ in responses] == [0xFF00] * 3 + [0xFE00]
    assert "first 3" in responses[-1][0].ErrorComment
    found = findscu(listener.port, tmp_path / "f", "-S",
                    ["QueryRetrieveLevel=IMAGE", "PatientName=*", "SOPInstanceUID"])  # fmt: skip
    assert len(found) == 3  # dcmtk's findscu takes the capped answer too
