"""S3 storage (AWS, MinIO, Ceph, ...) through boto3, with checksums and bounded retries."""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

import boto3
from boto3.s3.transfer import TransferConfig
from botocore.config import Config
from botocore.exceptions import BotoCoreError, ClientError

from hounsfield.config import StorageSettings
from hounsfield.storage.backend import ObjectNotFound, StorageUnavailable, check_key, is_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

SINGLE_PUT_LIMIT = 4 * 1024**3  # S3 caps one PUT at 5 GiB; larger objects go multipart
SPOOL_IN_MEMORY = 8 * 1024**2
CHUNK = 1 << 20
_NOT_FOUND = {"404", "NoSuchKey", "NotFound"}


class S3Storage:
    """Objects in one bucket, under an optional key prefix."""

    def __init__(self, client: S3Client, bucket: str, prefix: str = "") -> None:
        self.client = client
        self.bucket = bucket
        self.prefix = prefix

    @classmethod
    def from_settings(cls, conf: StorageSettings) -> S3Storage:
        config = Config(
            retries={"max_attempts": conf.s3_max_attempts, "mode": "standard"},
            connect_timeout=conf.s3_timeout_s,
            read_timeout=conf.s3_timeout_s,
            signature_version="s3v4",
            s3={"addressing_style": "path"},
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
        )
        client = boto3.client(
            "s3",
            endpoint_url=conf.s3_endpoint_url,
            region_name=conf.s3_region,
            aws_access_key_id=_secret(conf.s3_access_key_id),
            aws_secret_access_key=_secret(conf.s3_secret_access_key),
            config=config,
        )
        return cls(client, conf.s3_bucket, conf.s3_prefix)

    def _key(self, key: str) -> str:
        return self.prefix + check_key(key)

    def put(self, key: str, source: Path | BinaryIO, sha256: str) -> None:
        key = self._key(key)
        checksum = base64.b64encode(bytes.fromhex(sha256)).decode()
        with contextlib.ExitStack() as stack:
            if isinstance(source, Path):
                body: BinaryIO = stack.enter_context(source.open("rb"))
            elif _stream_size(source) is None:  # not seekable: spool so it can be re-read
                body = stack.enter_context(tempfile.TemporaryFile())
                shutil.copyfileobj(source, body, CHUNK)
                body.seek(0)
            else:
                body = source
            # Verified here as well as by S3: not every S3-compatible server checks.
            start = body.tell()
            if _sha256(body) != sha256:
                raise StorageUnavailable("the bytes to store do not match their checksum")
            body.seek(start)
            try:
                self._put(key, body, _stream_size(body), checksum)
            except (BotoCoreError, ClientError) as exc:
                raise StorageUnavailable(f"S3 write failed ({_reason(exc)})") from exc

    def _put(self, key: str, body: BinaryIO, size: int | None, checksum: str) -> None:
        if size is not None and size <= SINGLE_PUT_LIMIT:
            # S3 verifies the SHA-256 and refuses the PUT if the bytes differ.
            self.client.put_object(
                Bucket=self.bucket,
                Key=key,
                Body=body,
                ChecksumAlgorithm="SHA256",
                ChecksumSHA256=checksum,
            )
            return
        self.client.upload_fileobj(
            body,
            self.bucket,
            key,
            ExtraArgs={"ChecksumAlgorithm": "SHA256"},
            Config=TransferConfig(multipart_chunksize=64 * 1024**2, use_threads=False),
        )

    def open(self, key: str) -> BinaryIO:
        """The object, spooled to a seekable temporary file (memory up to 8 MiB)."""
        spool: Any = tempfile.SpooledTemporaryFile(max_size=SPOOL_IN_MEMORY)
        try:
            self.client.download_fileobj(self.bucket, self._key(key), spool)
        except ClientError as exc:
            spool.close()
            if _code(exc) in _NOT_FOUND:
                raise ObjectNotFound(key) from exc
            raise StorageUnavailable(f"S3 read failed ({_reason(exc)})") from exc
        except BotoCoreError as exc:
            spool.close()
            raise StorageUnavailable(f"S3 read failed ({_reason(exc)})") from exc
        spool.seek(0)
        return spool  # type: ignore[no-any-return]

    def delete(self, key: str) -> None:
        try:
            self.client.delete_object(Bucket=self.bucket, Key=self._key(key))
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"S3 delete failed ({_reason(exc)})") from exc

    def exists(self, key: str) -> bool:
        try:
            self.size(key)
        except ObjectNotFound:
            return False
        return True

    def size(self, key: str) -> int:
        return int(self._head(key)["ContentLength"])

    def fingerprint(self, key: str) -> str:
        head = self._head(key)
        return f"{head['ContentLength']}:{head['ETag']}"

    def _head(self, key: str) -> Any:
        try:
            return self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        except ClientError as exc:
            if _code(exc) in _NOT_FOUND:
                raise ObjectNotFound(key) from exc
            raise StorageUnavailable(f"S3 request failed ({_reason(exc)})") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 request failed ({_reason(exc)})") from exc

    def iter_keys(self) -> Iterator[tuple[str, float]]:
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self.prefix
            )
            for page in pages:
                for item in page.get("Contents", []):
                    key = item["Key"][len(self.prefix) :]
                    if is_key(key):
                        yield key, item["LastModified"].timestamp()
        except (BotoCoreError, ClientError) as exc:
            raise StorageUnavailable(f"S3 listing failed ({_reason(exc)})") from exc

    def ensure_bucket(self) -> None:
        """Create the bucket if it does not exist (deployments and tests)."""
        try:
            self.client.head_bucket(Bucket=self.bucket)
        except ClientError:
            try:
                self.client.create_bucket(Bucket=self.bucket)
            except (BotoCoreError, ClientError) as exc:
                raise StorageUnavailable(f"S3 bucket unavailable ({_reason(exc)})") from exc
        except BotoCoreError as exc:
            raise StorageUnavailable(f"S3 unavailable ({_reason(exc)})") from exc


def _secret(value: Any) -> str | None:
    return None if value is None else str(value.get_secret_value())


def _sha256(stream: BinaryIO) -> str:
    digest = hashlib.sha256()
    while chunk := stream.read(CHUNK):
        digest.update(chunk)
    return digest.hexdigest()


def _stream_size(stream: BinaryIO) -> int | None:
    try:
        position = stream.tell()
        end = stream.seek(0, os.SEEK_END)
        stream.seek(position)
        return end - position
    except (OSError, AttributeError, ValueError):
        return None


def _code(exc: ClientError) -> str:
    return str(exc.response.get("Error", {}).get("Code", ""))


def _reason(exc: Exception) -> str:
    if isinstance(exc, ClientError):
        return _code(exc) or "error"
    return type(exc).__name__
