"""De-identification (PS3.15 E.1 Basic Profile + Modified Dates): no canary survives."""

from __future__ import annotations

import io
import subprocess
import warnings
from datetime import date
from pathlib import Path

import pydicom
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pydicom.data import get_testdata_file
from pydicom.datadict import dictionary_VR
from pydicom.dataset import Dataset
from pydicom.uid import generate_uid

from hounsfield.dicom.deidentify import (
    ACTIONS,
    DESCRIPTORS,
    Deidentifier,
    burned_in_annotation_risk,
)

pytestmark = pytest.mark.nodb

CANARY = "ZZCANARY"
CANARY_UID = "1.2.826.0.1.3680043.99999"
TEXT_VRS = {"AE", "CS", "LO", "LT", "SH", "ST", "UC", "UT", "UR", "AS"}
SKIP_VRS = {"DS", "IS", "FL", "FD", "US", "SS", "UL", "SL", "UV", "SV", "AT", "TM"}


def ct() -> Dataset:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return pydicom.dcmread(get_testdata_file("CT_small.dcm"))  # type: ignore[arg-type]


def canary_value(vr: str, n: int) -> object:
    if vr == "PN":
        return f"{CANARY}^测试{n}"
    if vr in TEXT_VRS:
        return f"{CANARY}{n}"[:16] if vr in ("AE", "CS", "SH", "AS") else f"{CANARY} {n}"
    if vr == "UI":
        return f"{CANARY_UID}.{n}"
    if vr == "DA":
        return "20240115"
    if vr == "DT":
        return "20240115101010"
    if vr in ("OB", "OW", "UN", "OD", "OF", "OL", "OV"):
        return (CANARY + "!!").encode()[:10]
    if vr == "SQ":
        item = Dataset()
        item.PatientName = f"{CANARY}^nested{n}"
        item.add_new(0x00091010, "LO", f"{CANARY} private nested")
        return [item]
    return None


def loaded_with_canaries() -> Dataset:
    ds = ct()
    ds.SpecificCharacterSet = "ISO_IR 192"
    for n, tag in enumerate(sorted(ACTIONS)):
        try:
            vr = dictionary_VR(tag)
        except KeyError:
            continue
        vr = vr.split(" or ")[0]
        if vr in SKIP_VRS or tag >> 16 in (0x0000, 0x0002) or tag == 0x7FE00010:
            continue
        value = canary_value(vr, n)
        if value is not None:
            ds.add_new(tag, vr, value)
    ds.add_new(0x00291010, "LO", f"{CANARY} private")
    ds.add_new(0x00291011, "OB", CANARY.encode())
    ds.add_new(0x60004000, "LT", f"{CANARY} overlay comment")
    ds.file_meta.SourceApplicationEntityTitle = "ZZCANARYAE"
    ds.file_meta.MediaStorageSOPInstanceUID = ds.SOPInstanceUID
    return ds


def encode(ds: Dataset) -> bytes:
    out = io.BytesIO()
    ds.save_as(out, enforce_file_format=True)
    return out.getvalue()


def test_no_canary_survives_in_any_table_attribute() -> None:
    ds = loaded_with_canaries()
    before = encode(ds)
    assert before.count(CANARY.encode()) > 200  # the canaries really went in
    assert CANARY_UID.encode() in before
    out = encode(Deidentifier(b"k" * 32).apply(ds))
    assert CANARY.encode() not in out
    assert "测试".encode() not in out
    assert CANARY_UID.encode() not in out
    again = pydicom.dcmread(io.BytesIO(out))
    assert again.PatientIdentityRemoved == "YES"
    assert "Basic" in again.DeidentificationMethod
    codes = [item.CodeValue for item in again.DeidentificationMethodCodeSequence]
    assert codes == ["113100", "113107"]
    assert again.LongitudinalTemporalInformationModified == "MODIFIED"
    assert again.file_meta.MediaStorageSOPInstanceUID == again.SOPInstanceUID
    assert not any(elem.tag.is_private for elem in again.iterall())
    assert again.pixel_array.shape == (128, 128)  # the image itself is kept


def test_uids_are_remapped_consistently_and_references_resolve() -> None:
    key = b"secret-key-for-the-test-0123456789"
    first, second = ct(), ct()
    second.SOPInstanceUID = generate_uid()
    reference = Dataset()
    reference.ReferencedSOPClassUID = first.SOPClassUID
    reference.ReferencedSOPInstanceUID = first.SOPInstanceUID
    second.ReferencedImageSequence = [reference]
    original_study = first.StudyInstanceUID
    a = Deidentifier(key).apply(first)
    b = Deidentifier(key).apply(second)
    assert a.StudyInstanceUID == b.StudyInstanceUID != original_study
    assert a.StudyInstanceUID.startswith("2.25.")
    assert len(a.StudyInstanceUID) <= 64
    assert a.SOPInstanceUID != b.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPInstanceUID == a.SOPInstanceUID
    assert b.ReferencedImageSequence[0].ReferencedSOPClassUID == first.SOPClassUID  # kept
    assert a.PatientID == b.PatientID
    assert a.PatientID.startswith("ANON")
    assert Deidentifier(b"another key").apply(ct()).StudyInstanceUID != a.StudyInstanceUID


def test_dates_shift_by_a_constant_per_patient_keeping_intervals() -> None:
    ds = ct()
    ds.StudyDate, ds.SeriesDate, ds.ContentDate = "20240110", "20240110", "20240112"
    ds.AcquisitionDateTime = "20240111083000.5"
    ds.PatientBirthDate = "19700101"
    ds.StudyTime = "101500"
    out = Deidentifier(b"k" * 32).apply(ds)
    study = date(int(out.StudyDate[:4]), int(out.StudyDate[4:6]), int(out.StudyDate[6:]))
    content = date(int(out.ContentDate[:4]), int(out.ContentDate[4:6]), int(out.ContentDate[6:]))
    assert out.StudyDate != "20240110"
    assert (content - study).days == 2
    assert out.AcquisitionDateTime.endswith("083000.5")
    assert out.AcquisitionDateTime[:8] != "20240111"
    assert out.PatientBirthDate == ""
    assert out.StudyTime == "101500"


def test_burned_in_annotation_risk() -> None:
    ds = ct()
    assert burned_in_annotation_risk(ds) is None
    ds.BurnedInAnnotation = "YES"
    assert burned_in_annotation_risk(ds) == "BurnedInAnnotation is YES"
    ds.BurnedInAnnotation = "NO"
    ds.Modality = "US"
    assert burned_in_annotation_risk(ds) is None
    del ds.BurnedInAnnotation
    assert "US" in (burned_in_annotation_risk(ds) or "")


def _text_vr(tag: int) -> str | None:
    try:
        vr = dictionary_VR(tag).split(" or ")[0]
    except KeyError:
        return None
    return vr if vr in ("LO", "LT", "SH", "ST", "UT", "PN", "UC") else None


# The profile's attributes that hold free text: where a name or an ID would be typed.
TEXT_TAGS = sorted(t for t in ACTIONS if t >> 16 not in (0x0000, 0x0002) and _text_vr(t))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    tags=st.lists(st.sampled_from(TEXT_TAGS), min_size=1, max_size=40, unique=True),
    secret=st.text(alphabet="张王李赵测试ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=6, max_size=10),
    nested=st.booleans(),
)
def test_generated_canaries_never_survive(tags: list[int], secret: str, nested: bool) -> None:
    """SECURITY P1 as a property: any table attribute, any text, top level or in a sequence."""
    secret = f"Qz{secret}"  # a marker no pixel value or kept attribute spells by chance
    ds = ct()
    ds.SpecificCharacterSet = "ISO_IR 192"
    target = ds
    if nested:
        item = Dataset()
        ds.add_new(0x00081110, "SQ", [item])  # Referenced Study Sequence (kept, items cleaned)
        target = item
    for tag in tags:
        vr = dictionary_VR(tag).split(" or ")[0]
        value = f"{secret}^{secret}" if vr == "PN" else secret
        target.add_new(tag, vr, value[:16] if vr == "SH" else value)
    before = encode(ds)
    assert secret.encode() in before
    out = encode(Deidentifier(b"k" * 32).apply(ds))
    assert secret.encode() not in out


def _dciodvfy_errors(data: bytes, tmp_path: Path) -> set[str]:
    path = tmp_path / "object.dcm"
    path.write_bytes(data)
    run = subprocess.run(["dciodvfy", str(path)], capture_output=True, text=True, check=False)
    return {line for line in (run.stdout + run.stderr).splitlines() if line.startswith("Error")}


OPTIONS = [{}, {"retain_uids": True}, {"clean_descriptors": True},
           {"retain_uids": True, "clean_descriptors": True}]  # fmt: skip


@pytest.mark.parametrize("options", OPTIONS, ids=["default", "uids", "descriptors", "both"])
@pytest.mark.parametrize("name", ["CT_small.dcm", "MR_small.dcm", "rtplan.dcm"])
def test_deidentified_objects_add_no_iod_errors(
    name: str, options: dict[str, bool], tmp_path: Path
) -> None:
    """SECURITY P1, P3: the de-identified copy, with or without the options, is as valid an
    IOD as its source (dciodvfy)."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        source = pydicom.dcmread(get_testdata_file(name))  # type: ignore[arg-type]
    before = _dciodvfy_errors(encode(source), tmp_path)
    after = _dciodvfy_errors(encode(Deidentifier(b"k" * 32, **options).apply(source)), tmp_path)
    assert after <= before, sorted(after - before)


def _codes(ds: Dataset) -> list[str]:
    return [item.CodeValue for item in ds.DeidentificationMethodCodeSequence]


def test_retain_uids_is_an_option_that_keeps_uids_and_says_so() -> None:
    """SECURITY P3: Retain UIDs (PS3.15 E.3.9) only when asked; identity still removed."""
    ds = loaded_with_canaries()
    keywords = ("StudyInstanceUID", "SeriesInstanceUID", "SOPInstanceUID", "FrameOfReferenceUID")
    uids = {k: str(ds.data_element(k).value) for k in keywords}  # type: ignore[union-attr]
    assert CANARY_UID in uids["StudyInstanceUID"]
    kept = Deidentifier(b"k" * 32, retain_uids=True).apply(ds)
    assert {k: str(kept.data_element(k).value) for k in uids} == uids  # type: ignore[union-attr]
    assert kept.file_meta.MediaStorageSOPInstanceUID == uids["SOPInstanceUID"]
    assert _codes(kept) == ["113100", "113107", "113110"]
    assert "Retain UIDs Option" in kept.DeidentificationMethod
    out = encode(kept)
    assert CANARY.encode() not in out  # names, IDs, descriptions: gone as by default
    assert "测试".encode() not in out
    default = Deidentifier(b"k" * 32).apply(loaded_with_canaries())
    assert CANARY_UID not in default.StudyInstanceUID
    assert _codes(default) == ["113100", "113107"]


def described() -> Dataset:
    ds = ct()
    ds.SpecificCharacterSet = "ISO_IR 192"
    ds.PatientName = "Zhang^Weiming=张^伟明"
    ds.PatientID = "PID778899"
    ds.AccessionNumber = "A20240115"
    ds.ReferringPhysicianName = "House^Gregory"
    ds.InstitutionName = "Qingshan People's Hospital"
    ds.StudyDate = "20240115"
    ds.StudyDescription = "CT CHEST for ZHANG WEIMING pid778899 2024-01-15"
    ds.SeriesDescription = "张伟明 胸部 平扫 2024年1月15日"
    ds.ProtocolName = "Chest 5mm A20240115"
    ds.ImageComments = "Requested by Dr House at Qingshan People's Hospital, tel 13912345678"
    return ds


def test_clean_descriptors_is_an_option_that_keeps_descriptions_cleaned() -> None:
    """SECURITY P3: Clean Descriptors (PS3.15 E.3.5) keeps the descriptions, each without
    the object's identifying values (names and their parts, IDs, dates, institution) and
    without anything date- or number-like; by default they are removed."""
    clean = Deidentifier(b"k" * 32, clean_descriptors=True).apply(described())
    assert clean.StudyDescription == "CT CHEST for"
    assert clean.SeriesDescription == "胸部 平扫"
    assert clean.ProtocolName == "Chest 5mm"
    assert clean.ImageComments == "Requested by Dr at , tel"
    assert _codes(clean) == ["113100", "113107", "113105"]
    assert "Clean Descriptors Option" in clean.DeidentificationMethod
    out = encode(clean)
    for secret in ("Zhang", "WEIMING", "张", "伟明", "778899", "20240115", "House", "Qingshan"):
        assert secret.encode() not in out, secret

    default = Deidentifier(b"k" * 32).apply(described())
    for keyword in ("StudyDescription", "SeriesDescription", "ImageComments"):
        assert keyword not in default
    assert default.ProtocolName == "ANONYMIZED"  # the table's dummy value


DESCRIPTOR_TAGS = sorted(t for t in DESCRIPTORS if _text_vr(t) and _text_vr(t) != "PN")
IDENTIFYING_TAGS = [0x00100010, 0x00100020, 0x00080050, 0x00100021, 0x00081060, 0x00080080]


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    where=st.lists(st.sampled_from(DESCRIPTOR_TAGS), min_size=1, max_size=12, unique=True),
    source=st.sampled_from(IDENTIFYING_TAGS),
    secret=st.text(alphabet="张王李赵测试ABCDEFGHJKLMNPQRSTUVWXYZ", min_size=6, max_size=10),
    words=st.lists(st.sampled_from(["CT", "胸部", "平扫", "with", "contrast", "5mm"]), max_size=4),
)
def test_an_identifying_value_never_survives_in_a_cleaned_descriptor(
    where: list[int], source: int, secret: str, words: list[str]
) -> None:
    """SECURITY P3 as a property: a value the profile removes (a name, an ID, an accession,
    a physician, an institution) written anywhere into any descriptor never survives."""
    secret = f"Qz{secret}"
    ds = ct()
    ds.SpecificCharacterSet = "ISO_IR 192"
    vr = dictionary_VR(source)
    ds.add_new(source, vr, f"{secret}^Given" if vr == "PN" else secret[:16])
    for n, tag in enumerate(where):
        text = " ".join([*words[:n], secret.lower() if n % 2 else secret, *words[n:]])
        ds.add_new(tag, _text_vr(tag), text[:16] if _text_vr(tag) == "SH" else text)
    out = encode(Deidentifier(b"k" * 32, clean_descriptors=True).apply(ds))
    assert secret[:16].encode() not in out
    assert secret[:16].lower().encode() not in out
