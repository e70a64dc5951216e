"""S3 as a backup target (issue 11 §3): `hounsfield backup --output s3://bucket/prefix`,
`backup verify`, `backup prune` and `restore` against a real S3-protocol server
(tests/s3_server.py), as the operator runs them. The instance itself keeps its objects
on the local disk; the bucket is reached with the S3 storage settings."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import sqlalchemy as sa

from hounsfield.worker import shutdown_local_pool
from tests.backup.test_backup import INSTANCES, _cli, _give_key, _rows, _stow
from tests.backup.test_backup import archive as archive
from tests.dicom_factory import make_dataset
from tests.s3_server import moto_server

BUCKET = "hf-backups"
TARGET = f"s3://{BUCKET}/site-a/nightly"
PREFIX = "site-a/nightly/"


@pytest.fixture
def bucket(monkeypatch: pytest.MonkeyPatch) -> Iterator[Any]:
    """An empty bucket; the CLI processes reach it through the S3 storage settings."""
    with moto_server() as endpoint:
        for name, value in {
            "S3_ENDPOINT_URL": endpoint,
            "S3_ACCESS_KEY_ID": "test",
            "S3_SECRET_ACCESS_KEY": "test",
            "S3_REGION": "us-east-1",
        }.items():
            monkeypatch.setenv(f"HOUNSFIELD_STORAGE__{name}", value)  # fmt: skip
        client = boto3.client("s3", endpoint_url=endpoint, region_name="us-east-1",
                              aws_access_key_id="test", aws_secret_access_key="test")  # fmt: skip
        client.create_bucket(Bucket=BUCKET)
        yield client


def _keys(client: Any, under: str = "") -> dict[str, int]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=BUCKET, Prefix=PREFIX + under)
    return {o["Key"].removeprefix(PREFIX): o["Size"] for p in pages for o in p.get("Contents", [])}


def _object_writes(client: Any) -> dict[str, Any]:
    return {k: client.head_object(Bucket=BUCKET, Key=PREFIX + k)["LastModified"]
            for k in _keys(client, "objects/")}  # fmt: skip


@pytest.mark.once
def test_an_s3_target_round_trips_incrementally_and_finds_tampering(
    archive: dict[str, Any],
    bucket: Any,
    tmp_path: Path,
) -> None:
    made = _cli("backup", "--output", TARGET)
    assert made.returncode == 0, made.stderr
    first = _object_writes(bucket)
    n = len(first)
    assert n >= 4  # the instances and the model file
    assert f"{n} objects, {n} copied" in made.stdout
    [name] = {k.split("/")[1] for k in _keys(bucket, "snapshots/")}
    assert f"snapshots/{name}/manifest.json" in _keys(bucket)
    etags = {k: bucket.head_object(Bucket=BUCKET, Key=PREFIX + k)["ETag"] for k in first}

    # Incremental: the second backup uploads the new object only, none already there.
    _stow(archive["client"], archive["headers"], make_dataset(PatientID="BK-S3", seed=5))
    shutdown_local_pool(wait=True)
    again = _cli("backup", "--output", TARGET)
    assert again.returncode == 0, again.stderr
    assert f"{n + 1} objects, 1 copied" in again.stdout, again.stdout
    second = _object_writes(bucket)
    assert len(second) == n + 1
    assert {k: second[k] for k in first} == first  # not one of them written again
    assert {k: bucket.head_object(Bucket=BUCKET, Key=PREFIX + k)["ETag"] for k in first} == etags
    names = sorted({k.split("/")[1] for k in _keys(bucket, "snapshots/")})
    assert len(names) == 2
    checked = _cli("backup", "verify", TARGET)
    assert checked.returncode == 0, checked.stderr
    assert f"snapshot {names[-1]} verified: {n + 1} objects intact" in checked.stdout

    # Restore from the bucket into a fresh instance: every instance, with its bytes.
    fresh = tmp_path / "fresh"
    _give_key(fresh)
    restored = _cli("restore", TARGET, data_dir=fresh)
    assert restored.returncode == 0, restored.stderr
    copy = sa.create_engine(f"sqlite:///{fresh}/hounsfield.db")
    try:
        instances = _rows(copy, INSTANCES)
        actions = [r[0] for r in _rows(copy, "SELECT action FROM audit_events ORDER BY seq")]
    finally:
        copy.dispose()
    assert len(instances) == n  # n + 1 objects: the model file is no instance
    for _sop, sha, size, key in instances:
        data = (fresh / "storage" / key).read_bytes()
        assert (len(data), hashlib.sha256(data).hexdigest()) == (size, sha)
    assert actions[-1] == "backup.restore"
    assert _cli("audit", "verify", data_dir=fresh).returncode == 0

    # Tampering in the bucket: one bit of one object, same size, same key.
    listing = bucket.get_object(Bucket=BUCKET, Key=f"{PREFIX}snapshots/{names[-1]}/objects.jsonl")
    key = json.loads(listing["Body"].read().decode().splitlines()[1])["key"]
    body = bytearray(bucket.get_object(Bucket=BUCKET, Key=f"{PREFIX}objects/{key}")["Body"].read())
    body[-1] ^= 0xFF
    bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}objects/{key}", Body=bytes(body))
    broken = _cli("backup", "verify", TARGET)
    assert broken.returncode == 1
    assert f"object {key} does not match its SHA-256" in broken.stderr
    other = tmp_path / "other"
    _give_key(other)
    refused = _cli("restore", TARGET, data_dir=other)
    assert refused.returncode == 1
    assert "does not verify" in refused.stderr
    assert not (other / "hounsfield.db").exists()

    # Prune: the older snapshot goes, every object the newer lists stays.
    body[-1] ^= 0xFF  # repaired
    bucket.put_object(Bucket=BUCKET, Key=f"{PREFIX}objects/{key}", Body=bytes(body))
    pruned = _cli("backup", "prune", TARGET, "--keep", "1")
    assert pruned.returncode == 0, pruned.stderr
    assert "1 snapshots and 0 objects removed" in pruned.stdout
    assert sorted({k.split("/")[1] for k in _keys(bucket, "snapshots/")}) == names[1:]
    assert _cli("backup", "verify", TARGET).returncode == 0
