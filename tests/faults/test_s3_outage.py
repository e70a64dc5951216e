"""SECURITY D6: the S3 store stops → STOW-RS answers 503 with Retry-After and indexes
nothing; it comes back → the same request is stored, without restarting Hounsfield."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from moto.server import ThreadedMotoServer
from sqlalchemy import func, select

from hounsfield.db import transaction
from hounsfield.storage import get_storage
from hounsfield.storage.s3 import S3Storage
from hounsfield.studies.models import Instance
from tests.dicom_factory import make_dataset, to_bytes
from tests.s3_server import free_port


def _instances() -> int:
    with transaction() as session:
        return session.scalar(select(func.count()).select_from(Instance)) or 0


@pytest.mark.slow
@pytest.mark.once
def test_stow_is_503_while_s3_is_down_and_stored_once_it_is_back(
    settings_env: Callable[..., None], stow: Callable[..., Any]
) -> None:
    port = free_port()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    try:
        settings_env(
            HOUNSFIELD_STORAGE__BACKEND="s3",
            HOUNSFIELD_STORAGE__S3_ENDPOINT_URL=f"http://127.0.0.1:{port}",
            HOUNSFIELD_STORAGE__S3_BUCKET="outage-test",
            HOUNSFIELD_STORAGE__S3_ACCESS_KEY_ID="testing",
            HOUNSFIELD_STORAGE__S3_SECRET_ACCESS_KEY="testing",
            HOUNSFIELD_STORAGE__S3_MAX_ATTEMPTS="1",
            HOUNSFIELD_STORAGE__S3_TIMEOUT_S="2",
        )
        storage = get_storage()
        assert isinstance(storage, S3Storage)
        storage.ensure_bucket()
        parts = [to_bytes(make_dataset(seed=n)) for n in range(3)]
        before = _instances()

        server.stop()  # the store goes away (moto keeps its buckets in this process)
        refused = stow(parts)
        assert refused.status_code == 503, refused.text
        assert int(refused.headers["Retry-After"]) > 0
        assert _instances() == before

        server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        server.start()  # back, same address: the same request now succeeds
        stored = stow(parts)
        assert stored.status_code == 200, stored.text
        assert _instances() == before + len(parts)
        assert len(list(storage.iter_keys())) == len(parts)
    finally:
        server.stop()
