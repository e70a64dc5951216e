"""Reads without a SHA-256 pass each time (issue 15), SECURITY D2 kept: a verified marker
(the storage fingerprint at the last full check) and the scheduled scrub."""

from __future__ import annotations

import hashlib
import os
import types
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select, update

from hounsfield.db import transaction
from hounsfield.storage import get_storage
from hounsfield.studies import objects
from hounsfield.studies import refs as lookup
from hounsfield.studies.models import Instance
from hounsfield.studies.refs import InstanceRef
from hounsfield.studies.tasks import scrub_objects
from tests.dicom_factory import make_dataset, to_bytes

DICOM = 'multipart/related; type="application/dicom"'
OCTET = 'multipart/related; type="application/octet-stream"; transfer-syntax=*'


def stored(stow: Callable[..., Any]) -> InstanceRef:
    ds = make_dataset(Rows=64, Columns=64, PixelData=bytes(64 * 64 * 2))
    assert stow([to_bytes(ds)]).status_code == 200
    with transaction() as session:
        return lookup.instances(session, ds.StudyInstanceUID, sop_uid=ds.SOPInstanceUID)[0]


def url(ref: InstanceRef, tail: str = "") -> str:
    return (
        f"/dicom-web/studies/{ref.study_instance_uid}/series/{ref.series_instance_uid}"
        f"/instances/{ref.sop_instance_uid}{tail}"
    )


def row(ref: InstanceRef) -> Instance:
    with transaction() as session:
        found = session.scalar(select(Instance).where(Instance.storage_key == ref.storage_key))
    assert found is not None
    return found


def flip_last_byte(data_dir: Path, ref: InstanceRef, *, keep_mtime: bool) -> bytes:
    path = data_dir / "storage" / ref.storage_key
    good = path.read_bytes()
    st = path.stat()
    path.write_bytes(good[:-1] + bytes([good[-1] ^ 0xFF]))
    # keep_mtime: mtime put back (`touch -r`); else a new one, even within one clock tick
    mtime = st.st_mtime_ns if keep_mtime else st.st_mtime_ns + 10**9
    os.utime(path, ns=(st.st_atime_ns, mtime))
    return good


class Hashes:
    """Counts the SHA-256 objects the read path creates (hashlib's own, underneath)."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        self.count = 0

        def sha256(*args: Any) -> Any:
            self.count += 1
            return hashlib.sha256(*args)

        monkeypatch.setattr(objects, "hashlib", types.SimpleNamespace(sha256=sha256))


def test_reads_of_an_unchanged_object_skip_the_hash(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    ref = stored(stow)
    assert ref.verified_fingerprint == get_storage().fingerprint(ref.storage_key)  # at ingest
    hashes = Hashes(monkeypatch)
    whole = client.get(url(ref), headers={**writer_headers, "Accept": DICOM})
    frame = client.get(url(ref, "/frames/1"), headers={**writer_headers, "Accept": OCTET})
    assert whole.status_code == 200
    assert frame.status_code == 200
    assert hashes.count == 0


def test_a_changed_object_is_hashed_refused_and_flagged(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    data_dir: Path,
) -> None:
    ref = stored(stow)
    # this process has read (and trusted) it: the frame layout is cached
    assert client.get(url(ref, "/frames/1"), headers={**writer_headers, "Accept": OCTET}).is_success
    good = flip_last_byte(data_dir, ref, keep_mtime=False)
    for tail, accept in (("", DICOM), ("/frames/1", OCTET), ("", DICOM)):
        response = client.get(url(ref, tail), headers={**writer_headers, "Accept": accept})
        assert response.status_code == 500, tail
        assert response.json()["error"]["code"] == "object_corrupt"
    flagged = row(ref)
    assert flagged.corrupt_at is not None
    assert flagged.verified_fingerprint is None
    # repaired (restored from a backup): the next read hashes it, finds it good, trusts it
    path = data_dir / "storage" / ref.storage_key
    path.write_bytes(good)
    os.utime(path, ns=(path.stat().st_atime_ns, path.stat().st_mtime_ns + 2 * 10**9))
    assert client.get(url(ref), headers={**writer_headers, "Accept": DICOM}).status_code == 200
    repaired = row(ref)
    assert repaired.corrupt_at is None
    assert repaired.verified_fingerprint == get_storage().fingerprint(ref.storage_key)


def test_the_scrub_finds_in_place_corruption_that_kept_the_mtime(
    stow: Callable[..., Any],
    client: TestClient,
    writer_headers: dict[str, str],
    data_dir: Path,
) -> None:
    ref = stored(stow)
    other = stored(stow)
    assert client.get(url(ref, "/frames/1"), headers={**writer_headers, "Accept": OCTET}).is_success
    flip_last_byte(data_dir, ref, keep_mtime=True)
    # Below the file system (bit rot) even ctime stays: the marker then still matches.
    with transaction(write=True) as session:
        session.execute(
            update(Instance)
            .where(Instance.storage_key == ref.storage_key)
            .values(verified_fingerprint=get_storage().fingerprint(ref.storage_key))
        )
    assert scrub_objects() >= 1  # other tests leave corrupt objects behind too
    assert row(ref).corrupt_at is not None
    assert row(other).corrupt_at is None
    for tail, accept in (("", DICOM), ("/frames/1", OCTET)):
        response = client.get(url(ref, tail), headers={**writer_headers, "Accept": accept})
        assert response.status_code == 500, tail
        assert response.json()["error"]["code"] == "object_corrupt"
    assert client.get(url(other), headers={**writer_headers, "Accept": DICOM}).status_code == 200
