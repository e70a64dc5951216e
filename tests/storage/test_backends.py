"""Both storage backends through the one protocol: local files and S3 (a real moto server)."""

from __future__ import annotations

import hashlib
import io
import uuid
from collections.abc import Iterator
from pathlib import Path

import boto3
import pytest
from pydantic import SecretStr

from hounsfield.config import StorageSettings
from hounsfield.storage.backend import (
    InvalidKey,
    ObjectNotFound,
    StorageBackend,
    StorageUnavailable,
)
from hounsfield.storage.local import LocalStorage
from hounsfield.storage.s3 import S3Storage
from tests.s3_server import free_port, moto_server

pytestmark = pytest.mark.nodb


@pytest.fixture(scope="module")
def s3_endpoint() -> Iterator[str]:
    """A real S3-protocol HTTP server (moto standalone) on a free loopback port."""
    with moto_server() as endpoint:
        yield endpoint


def _s3(endpoint: str, bucket: str = "archive") -> S3Storage:
    conf = StorageSettings(
        backend="s3",
        s3_endpoint_url=endpoint,
        s3_bucket=bucket,
        s3_access_key_id=SecretStr("testing"),
        s3_secret_access_key=SecretStr("testing"),
        s3_prefix="dicom/",
        s3_max_attempts=2,
        s3_timeout_s=5,
    )
    storage = S3Storage.from_settings(conf)
    storage.ensure_bucket()
    return storage


@pytest.fixture
def key() -> str:
    """A fresh, valid key (the S3 server is shared by the module's tests)."""
    digest = uuid.uuid4().hex * 2
    return f"{digest[:2]}/{digest[2:4]}/{digest}"


@pytest.fixture(params=["local", "s3"])
def storage(request: pytest.FixtureRequest, tmp_path: Path) -> StorageBackend:
    if request.param == "local":
        return LocalStorage(tmp_path / "storage")
    return _s3(request.getfixturevalue("s3_endpoint"))


def test_put_open_size_delete(storage: StorageBackend, tmp_path: Path, key: str) -> None:
    data = b"DICM" + bytes(range(256)) * 4000
    source = tmp_path / "object.bin"
    source.write_bytes(data)
    assert not storage.exists(key)
    storage.put(key, source, hashlib.sha256(data).hexdigest())
    assert storage.exists(key)
    assert storage.size(key) == len(data)
    with storage.open(key) as fp:
        assert fp.read(4) == b"DICM"
        assert fp.read() == data[4:]
    storage.delete(key)
    assert not storage.exists(key)
    storage.delete(key)  # deleting a missing object is not an error


def test_put_from_a_stream_replaces_atomically(storage: StorageBackend, key: str) -> None:
    first, second = b"first version", b"second version, longer"
    storage.put(key, io.BytesIO(first), hashlib.sha256(first).hexdigest())
    storage.put(key, io.BytesIO(second), hashlib.sha256(second).hexdigest())
    with storage.open(key) as fp:
        assert fp.read() == second


def test_a_wrong_checksum_is_refused(storage: StorageBackend, key: str) -> None:
    with pytest.raises(StorageUnavailable):
        storage.put(key, io.BytesIO(b"payload"), hashlib.sha256(b"other").hexdigest())
    assert not storage.exists(key)


def test_missing_objects_raise_not_found(storage: StorageBackend, key: str) -> None:
    with pytest.raises(ObjectNotFound):
        storage.open(key)
    with pytest.raises(ObjectNotFound):
        storage.size(key)
    with pytest.raises(ObjectNotFound):
        storage.fingerprint(key)


def test_the_fingerprint_changes_when_the_object_is_rewritten(
    storage: StorageBackend, key: str
) -> None:
    first, second = b"first version", b"other version"  # the same size
    storage.put(key, io.BytesIO(first), hashlib.sha256(first).hexdigest())
    before = storage.fingerprint(key)
    assert storage.fingerprint(key) == before  # unchanged object, same fingerprint
    storage.put(key, io.BytesIO(second), hashlib.sha256(second).hexdigest())
    assert storage.fingerprint(key) != before


@pytest.mark.parametrize(
    "bad",
    ["../../etc/passwd", "/abs/path", "ab/cd/../../x", "1.2.840.10008", "AB/CD/ABCDEF01234567", ""],
)
def test_keys_other_than_hex_digests_are_refused(storage: StorageBackend, bad: str) -> None:
    with pytest.raises(InvalidKey):
        storage.put(bad, io.BytesIO(b"x"), hashlib.sha256(b"x").hexdigest())
    with pytest.raises(InvalidKey):
        storage.open(bad)


def test_local_writes_leave_no_temp_files(tmp_path: Path, key: str) -> None:
    storage = LocalStorage(tmp_path / "storage")
    storage.put(key, io.BytesIO(b"abc"), hashlib.sha256(b"abc").hexdigest())
    with pytest.raises(StorageUnavailable):
        storage.put(key, io.BytesIO(b"abc"), "0" * 64)
    files = [p.name for p in (tmp_path / "storage").rglob("*") if p.is_file()]
    assert files == [key.rsplit("/", 1)[1]]


def test_s3_objects_carry_the_prefix_and_checksum(s3_endpoint: str, key: str) -> None:
    storage = _s3(s3_endpoint, bucket="checked")
    data = b"x" * 1000
    storage.put(key, io.BytesIO(data), hashlib.sha256(data).hexdigest())
    client = boto3.client(
        "s3", endpoint_url=s3_endpoint, region_name="us-east-1",
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip
    head = client.head_object(Bucket="checked", Key="dicom/" + key, ChecksumMode="ENABLED")
    assert head["ContentLength"] == 1000
    assert head.get("ChecksumSHA256")


def test_an_unreachable_s3_is_unavailable(key: str) -> None:
    conf = StorageSettings(
        backend="s3",
        s3_endpoint_url=f"http://127.0.0.1:{free_port()}",
        s3_access_key_id=SecretStr("x"),
        s3_secret_access_key=SecretStr("x"),
        s3_max_attempts=1,
        s3_timeout_s=2,
    )
    storage = S3Storage.from_settings(conf)
    with pytest.raises(StorageUnavailable):
        storage.put(key, io.BytesIO(b"x"), hashlib.sha256(b"x").hexdigest())
    with pytest.raises(StorageUnavailable):
        storage.open(key)
