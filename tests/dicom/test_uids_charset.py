"""UID syntax (PS3.5 §9.1) and character sets, including Chinese (GB18030, GBK, IR 58)."""

from __future__ import annotations

from pathlib import Path

import pytest

from hounsfield.dicom.charset import (
    guess_character_set,
    normalize_text,
    person_name_groups,
    search_text,
)
from hounsfield.dicom.parse import parse_instance
from hounsfield.dicom.uids import is_valid_uid, split_uid_list
from tests.dicom_factory import make_dataset, to_bytes

pytestmark = pytest.mark.nodb


@pytest.mark.parametrize("uid", ["1.2.840.10008.1.2", "0", "1.0.3", "2.25." + "1" * 59])
def test_valid_uids(uid: str) -> None:
    assert is_valid_uid(uid)


@pytest.mark.parametrize(
    "uid", ["", "../../x", "1.2/3", "1.02", "1..2", "1.2.", ".1", "1.2." + "3" * 61, "1.2 ", None]
)
def test_invalid_uids(uid: object) -> None:
    assert not is_valid_uid(uid)


def test_uid_lists_split_on_backslash() -> None:
    assert split_uid_list("1.2\\1.3 \\ 1.4\x00") == ["1.2", "1.3", "1.4"]


def _write_name(tmp_path: Path, name: str, charset: str | None) -> Path:
    ds = make_dataset(PatientName=name)
    if charset is None:
        del ds.SpecificCharacterSet
    else:
        ds.SpecificCharacterSet = charset
    path = tmp_path / "n.dcm"
    path.write_bytes(to_bytes(ds))
    return path


@pytest.mark.parametrize(
    ("charset", "name"),
    [
        ("GB18030", "Zhang^Wei=张^伟"),
        ("GBK", "王^小明"),
        ("ISO_IR 192", "Zhang^Wei=张^伟=zhang^wei"),
    ],
)
def test_chinese_names_are_decoded(tmp_path: Path, charset: object, name: str) -> None:
    parsed = parse_instance(_write_name(tmp_path, name, charset))  # type: ignore[arg-type]
    groups = person_name_groups(parsed.dataset.PatientName)
    assert groups.full == name.rstrip("=")


def test_iso_2022_ir_58_is_decoded(tmp_path: Path) -> None:
    # PS3.5 Annex K: G1 designated to GB 2312 by ESC $ ) A, then 8-bit GB 2312 bytes.
    encoded = b"\x1b$)A\xd5\xc5^\xd0\xa1\xb6\xab"
    ds = make_dataset(PatientName="Zhang^XiaoDong=" + "Q" * len(encoded))
    ds.SpecificCharacterSet = ["", "ISO 2022 IR 58"]
    raw = to_bytes(ds).replace(b"Q" * len(encoded), encoded)
    path = tmp_path / "ir58.dcm"
    path.write_bytes(raw)
    parsed = parse_instance(path)
    assert person_name_groups(parsed.dataset.PatientName).full == "Zhang^XiaoDong=张^小东"


def test_gb18030_bytes_are_really_gb18030(tmp_path: Path) -> None:
    path = _write_name(tmp_path, "张^伟", "GB18030")
    assert "张".encode("gb18030") in path.read_bytes()


def test_a_missing_character_set_is_guessed(tmp_path: Path) -> None:
    ds = make_dataset(PatientName="QQ^WW")
    del ds.SpecificCharacterSet
    raw = to_bytes(ds).replace(b"QQ^WW", "张^伟".encode("gb18030"))
    path = tmp_path / "g.dcm"
    path.write_bytes(raw)
    parsed = parse_instance(path)
    assert str(parsed.dataset.PatientName) == "张^伟"
    assert any("GB18030" in w.reason for w in parsed.warnings)


def test_guess_prefers_utf8_then_gb18030() -> None:
    assert guess_character_set([b"ABC"]) is None
    assert guess_character_set(["张".encode()]) == "ISO_IR 192"
    assert guess_character_set(["张伟".encode("gb18030")]) == "GB18030"


def test_search_text_keeps_characters_and_folds_case() -> None:
    groups = person_name_groups("ZHANG^Wei=张^伟")
    text = search_text(groups)
    for word in (" zhang", " wei", " 张伟", " 张", " 伟", " zhangwei"):
        assert word in text
    assert normalize_text("ＺＨＡＮＧ") == "zhang"
