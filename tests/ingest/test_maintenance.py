"""Sweeps: objects without an index row, left-over temporary files."""

from __future__ import annotations

import hashlib
import io
import time
from collections.abc import Callable
from pathlib import Path

from hounsfield.config import get_settings
from hounsfield.db import transaction
from hounsfield.ingest.maintenance import sweep_orphan_objects, sweep_temporary_files
from hounsfield.ingest.service import storage_key, store_instance
from hounsfield.storage import get_storage
from hounsfield.storage.s3 import S3Storage
from tests.dicom_factory import make_dataset, to_bytes
from tests.s3_server import moto_server

DAY = 24 * 3600.0


def _orphan_and_kept() -> tuple[str, str]:
    ds = make_dataset()
    with transaction(write=True) as session:
        store_instance(session, to_bytes(ds), origin="test")
    data = b"an object from an ingest that crashed before its commit"
    orphan = storage_key("1.2.3.4", hashlib.sha256(data).hexdigest())
    get_storage().put(orphan, io.BytesIO(data), hashlib.sha256(data).hexdigest())
    kept = storage_key(ds.SOPInstanceUID, hashlib.sha256(to_bytes(ds)).hexdigest())
    return orphan, kept


def _check_sweep() -> None:
    storage = get_storage()
    orphan, kept = _orphan_and_kept()
    assert storage.exists(kept)
    assert sweep_orphan_objects(storage, grace_s=DAY) == 0  # too young: may be in flight
    assert storage.exists(orphan)
    assert sweep_orphan_objects(storage, grace_s=DAY, now=time.time() + 2 * DAY) == 1
    assert not storage.exists(orphan)
    assert storage.exists(kept)


def test_orphan_objects_are_swept_on_local_storage(
    settings_env: Callable[..., None], tmp_path: Path
) -> None:
    settings_env(HOUNSFIELD_STORAGE__LOCAL_ROOT=str(tmp_path / "storage"))
    _check_sweep()


def test_orphan_objects_are_swept_on_s3(settings_env: Callable[..., None]) -> None:
    with moto_server() as endpoint:
        settings_env(
            HOUNSFIELD_STORAGE__BACKEND="s3",
            HOUNSFIELD_STORAGE__S3_ENDPOINT_URL=endpoint,
            HOUNSFIELD_STORAGE__S3_BUCKET="sweep-test",
            HOUNSFIELD_STORAGE__S3_ACCESS_KEY_ID="testing",
            HOUNSFIELD_STORAGE__S3_SECRET_ACCESS_KEY="testing",
        )
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        _check_sweep()


def test_left_over_temporary_files_are_swept() -> None:
    settings = get_settings()
    spool = settings.data_dir / "spool"
    spool.mkdir(parents=True, exist_ok=True)
    left = spool / "ingest-crashed.dcm"
    left.write_bytes(b"x")
    work = settings.data_dir / "uploads" / "upload-crashed"
    work.mkdir(parents=True, exist_ok=True)
    (work / "part").write_bytes(b"y")
    assert sweep_temporary_files(settings, grace_s=DAY) == 0
    assert sweep_temporary_files(settings, grace_s=DAY, now=time.time() + 2 * DAY) >= 2
    assert not left.exists()
    assert not work.exists()
