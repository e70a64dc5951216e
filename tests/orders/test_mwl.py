"""Order → Modality Worklist (dcmtk findscu -W) → the modality stores the study (storescu)
→ the study is matched to its order. Names in Chinese and Latin, in UTF-8 and GB18030."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from pydicom.dataset import Dataset
from sqlalchemy import select

from hounsfield.db import transaction
from hounsfield.orders.models import Order
from hounsfield.worker import shutdown_local_pool
from tests.dicom_factory import write_dicom
from tests.dimse.conftest import run

STEP = "ScheduledProcedureStepSequence[0]"
RETURN_KEYS = [
    "PatientName", "PatientID", "PatientBirthDate", "PatientSex", "AccessionNumber",
    "StudyInstanceUID", "RequestedProcedureDescription", "RequestedProcedurePriority",
    f"{STEP}.ScheduledStationAETitle", f"{STEP}.ScheduledProcedureStepStartDate",
    f"{STEP}.ScheduledProcedureStepStartTime", f"{STEP}.ScheduledProcedureStepDescription",
]  # fmt: skip


def worklist(port: int, directory: Path, keys: list[str]) -> list[Dataset]:
    """findscu -W as modality CT1; the responses as findscu wrote them (-X)."""
    directory.mkdir()
    args = ["/usr/bin/findscu", "-W", "-X", "-od", str(directory), "-aet", "CT1",
            "-aec", "HOUNSFIELD"]  # fmt: skip
    for key in [*RETURN_KEYS, *keys]:  # in order: a later -k of the same key wins
        args += ["-k", key]
    result = run([*args, "127.0.0.1", str(port)])
    assert result.returncode == 0, result.stderr
    return [dcmread(p) for p in sorted(directory.glob("rsp*.dcm"))]


@pytest.fixture
def scheduled(
    make_record: Callable[..., Any], make_order: Callable[..., Any], register: Callable[..., Any]
) -> Any:
    """Modality CT1 (find + store) and a STAT chest CT for 张三丰; an MR for someone else."""
    register("CT1", operations=["find", "store"])
    record = make_record(mrn="MRN-8", birth_date=None)
    other = make_record(mrn="MRN-9", name_ideographic="李^四", name_alphabetic="Li^Si")
    make_order(other.id, modality="MR", station_ae="MR1")
    return make_order(record.id, priority="stat")


@pytest.mark.parametrize("charset", ["ISO_IR 192", "GB18030"])
def test_the_worklist_answers_in_the_asked_character_set(
    listener: Any, scheduled: Any, tmp_path: Path, charset: str
) -> None:
    found = worklist(listener.port, tmp_path / "w", [
        f"SpecificCharacterSet={charset}", f"{STEP}.Modality=CT",
        f"{STEP}.ScheduledProcedureStepStartDate=20260301-20260302",
    ])  # fmt: skip
    assert len(found) == 1
    item = found[0]
    assert item.SpecificCharacterSet == charset
    name = item.PatientName
    assert (name.alphabetic, name.ideographic) == ("Zhang^Sanfeng", "张^三丰")
    wire = "Zhang^Sanfeng=张^三丰".encode("utf-8" if charset == "ISO_IR 192" else "gb18030")
    assert wire in Path(str(item.filename)).read_bytes()  # encoded as asked
    assert (item.PatientID, item.AccessionNumber) == ("MRN-8", scheduled.accession_number)
    assert item.RequestedProcedureDescription == "CT 胸部平扫"
    assert item.RequestedProcedurePriority == "STAT"
    step = item.ScheduledProcedureStepSequence[0]
    assert (step.ScheduledStationAETitle, step.ScheduledProcedureStepStartDate) == (
        "CT1",
        "20260302",
    )
    assert step.ScheduledProcedureStepStartTime == "093000"  # Beijing time
    assert step.ScheduledProcedureStepDescription == "CT 胸部平扫"
    assert item.StudyInstanceUID  # the UID the modality should give the study
    assert attribute_errors(Path(str(item.filename))) == []


# An MWL answer is an identifier, not a composite object: dciodvfy finds no IOD to check it
# against, but still checks every attribute's VR, length and character repertoire.
_NOT_AN_IOD = ("Information Object Not found", "MediaStorageSOPInstanceUID but missing",
               "MediaStorageSOPClassUID but missing")  # fmt: skip


def attribute_errors(path: Path) -> list[str]:
    check = run(["/usr/bin/dciodvfy", "-new", str(path)])
    lines = (check.stdout + check.stderr).splitlines()
    return [x for x in lines if x.startswith("Error") and not any(n in x for n in _NOT_AN_IOD)]


def test_matching_keys(listener: Any, scheduled: Any, tmp_path: Path) -> None:
    def names(*keys: str) -> list[str]:
        directory = tmp_path / str(len(list(tmp_path.iterdir())))
        return [str(d.PatientName) for d in worklist(listener.port, directory, list(keys))]

    everyone = names()
    assert sorted(everyone) == ["Li^Si=李^四", "Zhang^Sanfeng=张^三丰"]
    assert names("SpecificCharacterSet=ISO_IR 192", "PatientName=张*") == ["Zhang^Sanfeng=张^三丰"]
    assert names("PatientName=li*") == ["Li^Si=李^四"]
    assert names(f"{STEP}.ScheduledStationAETitle=MR1") == ["Li^Si=李^四"]
    assert names("PatientID=MRN-8") == ["Zhang^Sanfeng=张^三丰"]
    assert names(f"{STEP}.ScheduledProcedureStepStartDate=20260303-") == []
    assert names(f"AccessionNumber={scheduled.accession_number}") == ["Zhang^Sanfeng=张^三丰"]


def test_worklist_to_storescu_to_a_matched_order(
    listener: Any, scheduled: Any, tmp_path: Path
) -> None:
    """What a modality does: take the worklist item, acquire, send. The study arrives with
    the order's accession number and study UID and the order moves to arrived."""
    (item,) = worklist(listener.port, tmp_path / "w",
                       ["SpecificCharacterSet=GB18030", f"{STEP}.Modality=CT"])  # fmt: skip
    path = write_dicom(
        tmp_path, SpecificCharacterSet="GB18030", PatientName=item.PatientName,
        PatientID=item.PatientID, AccessionNumber=item.AccessionNumber,
        StudyInstanceUID=item.StudyInstanceUID, StudyDate="20260302", Modality="CT",
    )  # fmt: skip
    sent = run(["/usr/bin/storescu", "-aet", "CT1", "-aec", "HOUNSFIELD", "127.0.0.1",
                str(listener.port), str(path)])  # fmt: skip
    assert sent.returncode == 0, sent.stderr
    shutdown_local_pool(wait=True)  # the matching task the ingest queued has run

    with transaction() as session:
        order = session.scalars(select(Order).where(Order.id == scheduled.id)).one()
        assert order.status == "arrived"
        assert order.study_instance_uid == item.StudyInstanceUID
    again = worklist(listener.port, tmp_path / "after", [f"{STEP}.Modality=CT"])
    assert again == []  # performed: no longer on the modality's worklist
