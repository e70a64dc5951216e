"""The same instance by another route or encoding is a duplicate, not a conflict (issue 12.1).

Real clients only: dcmtk's storescu (C-STORE) and STOW-RS over the app, with copies
re-encoded by dcmtk's dcmconv / dcmcrle / dcmdrle.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from pydicom import dcmread
from sqlalchemy import func, select

from hounsfield.audit.models import AuditEvent
from hounsfield.db import transaction
from hounsfield.dicom.parse import parse_instance
from hounsfield.storage import get_storage
from hounsfield.studies.models import Instance
from tests.dimse.conftest import run
from tests.dimse.helpers import fresh_copy


@pytest.fixture
def storescu(listener: Any, register: Callable[..., Any]) -> Callable[..., str]:
    """storescu(path, *options) → dcmtk's log (the C-STORE status checked by the caller)."""
    register("MODALITY", operations=["store"])

    def send(path: Path, *options: str) -> str:
        args = ["/usr/bin/storescu", "-v", *options, "-aet", "MODALITY", "-aec", "HOUNSFIELD",
                "127.0.0.1", str(listener.port), str(path)]  # fmt: skip
        result = run(args)
        return result.stdout + result.stderr

    return send


def _rows(sop_uid: str) -> list[Instance]:
    with transaction() as session:
        return list(session.scalars(select(Instance).where(Instance.sop_instance_uid == sop_uid)))


def _objects() -> int:
    return sum(1 for _ in get_storage().iter_keys())


def _resends() -> list[dict[str, Any]]:
    with transaction() as session:
        events = session.scalars(select(AuditEvent).where(AuditEvent.action == "image.resend"))
        return [json.loads(e.detail) for e in events]


def _converted(tool: str, option: str | None, source: Path, target: Path) -> Path:
    result = run([f"/usr/bin/{tool}", *([option] if option else []), str(source), str(target)])
    assert result.returncode == 0, result.stderr
    return target


def _success(log: str) -> bool:
    return "Received Store Response (Success)" in log


def test_stow_then_storescu_of_the_same_file_is_one_instance(
    stow: Callable[..., Any], storescu: Callable[..., str], tmp_path: Path
) -> None:
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    before = _objects()
    assert stow([path.read_bytes()]).status_code == 200
    log = storescu(path)
    assert _success(log), log
    assert len(_rows(sop_uid)) == 1
    assert _objects() == before + 1
    assert [r["sop_instance_uid"] for r in _resends()] == [sop_uid]


def test_storescu_then_stow_of_the_same_file_is_200(
    stow: Callable[..., Any], storescu: Callable[..., str], tmp_path: Path
) -> None:
    path, sop_uid = fresh_copy("rtplan.dcm", tmp_path)
    before = _objects()
    assert _success(storescu(path))
    # storescu sends the dataset in the negotiated syntax: other bytes than the file
    response = stow([path.read_bytes()])
    assert response.status_code == 200, response.json()
    assert "00081198" not in response.json()
    assert len(_rows(sop_uid)) == 1
    assert _objects() == before + 1


# storescu proposes a compressed file's syntax only when told to (-xr: RLE Lossless).
@pytest.mark.parametrize(
    ("name", "tool", "option", "first", "second"),
    [
        ("CT_small.dcm", "dcmconv", "+ti", [], []),  # explicit → implicit VR
        ("rtplan.dcm", "dcmconv", "+te", [], []),  # implicit → explicit VR
        ("CT_small.dcm", "dcmcrle", None, [], ["-xr"]),  # native → RLE lossless
        ("MR_small_RLE.dcm", "dcmdrle", None, ["-xr"], []),  # RLE lossless → native
    ],
)
def test_a_losslessly_reencoded_copy_is_the_same_instance(
    storescu: Callable[..., str],
    tmp_path: Path,
    name: str,
    tool: str,
    option: str | None,
    first: list[str],
    second: list[str],
) -> None:
    path, sop_uid = fresh_copy(name, tmp_path)
    before = _objects()
    assert _success(storescu(path, *first))
    stored = _rows(sop_uid)[0]
    copy = _converted(tool, option, path, tmp_path / "copy.dcm")
    assert dcmread(copy).file_meta.TransferSyntaxUID != dcmread(path).file_meta.TransferSyntaxUID
    log = storescu(copy, *second)
    assert _success(log), log
    rows = _rows(sop_uid)
    assert [(r.id, r.sha256) for r in rows] == [(stored.id, stored.sha256)]  # one copy kept
    assert _objects() == before + 1
    assert _resends()[-1]["identical_bytes"] is False


def test_other_content_under_the_uid_is_still_a_conflict(
    stow: Callable[..., Any], storescu: Callable[..., str], tmp_path: Path
) -> None:
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    assert _success(storescu(path))
    ds = dcmread(path)
    ds.PatientName = "Other^Patient"
    altered = tmp_path / "altered.dcm"
    ds.save_as(altered)
    log = storescu(altered)
    assert "DataSetDoesNotMatchSOPClass" in log, log  # 0xA900
    response = stow([altered.read_bytes()])
    assert response.status_code == 409
    assert response.json()["00081198"]["Value"][0]["00081197"]["Value"] == [0x0111]
    # other pixel data, same header: other content too
    ds = dcmread(path)
    pixels = bytearray(ds.PixelData)
    pixels[100] ^= 0xFF
    ds.PixelData = bytes(pixels)
    ds.save_as(altered)
    assert stow([altered.read_bytes()]).status_code == 409
    assert len(_rows(sop_uid)) == 1


def test_the_identity_ignores_encoding_but_not_values(tmp_path: Path) -> None:
    path, _ = fresh_copy("CT_small.dcm", tmp_path)
    implicit = _converted("dcmconv", "+ti", path, tmp_path / "implicit.dcm")
    first, second = parse_instance(path), parse_instance(implicit)
    assert first.dataset_digest == second.dataset_digest
    ds = dcmread(path)
    ds.StudyDescription = "other"
    ds.save_as(tmp_path / "other.dcm")
    assert parse_instance(tmp_path / "other.dcm").dataset_digest != first.dataset_digest


def test_identity_is_learnt_for_instances_indexed_before_it(
    stow: Callable[..., Any], storescu: Callable[..., str], tmp_path: Path
) -> None:
    path, sop_uid = fresh_copy("CT_small.dcm", tmp_path)
    assert _success(storescu(path))
    with transaction(write=True) as session:  # as rows from before migration 0009 are
        row = session.scalar(select(Instance).where(Instance.sop_instance_uid == sop_uid))
        assert row is not None
        row.dataset_digest = row.pixel_digest = None
    implicit = _converted("dcmconv", "+ti", path, tmp_path / "implicit.dcm")
    assert stow([implicit.read_bytes()]).status_code == 200
    with transaction() as session:
        assert session.scalar(select(func.count()).select_from(Instance)) == 1
