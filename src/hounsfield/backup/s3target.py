"""An S3 bucket (AWS, MinIO, Ceph, ...) as a backup target: `s3://bucket/prefix`.

The layout under the prefix is the directory target's (backup/service.py): `objects/<key>`
shared by all snapshots, `snapshots/<name>/...` one per backup. The endpoint, region and
credentials are the S3 storage backend's settings (`HOUNSFIELD_STORAGE__S3_*`); the bucket
and the prefix come from the URL, so the backup can go to another bucket than the images.

A backup is made in a private temporary directory and uploaded: the new objects first,
then the snapshot's files, its manifest last, so a backup that died is never a snapshot
(`snapshots` lists only those with a manifest). An object whose sealed copy is already in
the bucket, with the SHA-256 the previous snapshot recorded, is not uploaded again.
`verify` and `restore` download the snapshot (its files, then its objects) into a private
temporary directory and check it there exactly as for a directory target: that directory
needs room for the snapshot (TMPDIR).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any

from hounsfield.config import Settings
from hounsfield.storage.backend import is_key

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client

__all__ = ["S3Target", "is_s3_url"]

SCHEME = "s3://"


def is_s3_url(target: object) -> bool:
    return isinstance(target, str) and target.startswith(SCHEME)


class S3Target:
    """One `s3://bucket/prefix` backup target."""

    def __init__(self, settings: Settings, url: str) -> None:
        from hounsfield.storage.s3 import S3Storage

        bucket, _, prefix = url.removeprefix(SCHEME).partition("/")
        if not bucket:
            raise ValueError(f"not an S3 backup target (s3://bucket/prefix): {url!r}")
        prefix = prefix.strip("/")
        if ".." in prefix.split("/"):
            raise ValueError(f"not an S3 backup target (s3://bucket/prefix): {url!r}")
        self.url = url
        self.bucket = bucket
        self.prefix = f"{prefix}/" if prefix else ""
        self.client: S3Client = S3Storage.from_settings(settings.storage).client

    # -- listing ---------------------------------------------------------------------

    def _listed(self, under: str) -> Iterator[tuple[str, int]]:
        """(path relative to the prefix, size) of every key under `under`."""
        paginator = self.client.get_paginator("list_objects_v2")
        for page in paginator.paginate(Bucket=self.bucket, Prefix=self.prefix + under):
            for item in page.get("Contents", []):
                yield item["Key"].removeprefix(self.prefix), int(item["Size"])

    def object_sizes(self) -> dict[str, int]:
        """The stored objects' sealed sizes, by storage key."""
        return {rel.removeprefix("objects/"): size for rel, size in self._listed("objects/")}

    def snapshots(self) -> list[str]:
        """The complete snapshots (those with a manifest), oldest first."""
        names = set()
        for rel, _ in self._listed("snapshots/"):
            parts = rel.split("/")
            if len(parts) == 3 and parts[2] == "manifest.json" and not parts[1].startswith("."):
                names.add(parts[1])
        return sorted(names)

    def snapshot(self, name: str | None) -> str:
        names = self.snapshots()
        if not names:
            raise FileNotFoundError(f"no snapshot in {self.url}")
        if name is None:
            return names[-1]
        if name not in names:
            raise FileNotFoundError(f"no snapshot {name} in {self.url}")
        return name

    # -- transfers -------------------------------------------------------------------

    def _download(self, rel: str, dest: Path) -> None:
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        self.client.download_file(self.bucket, self.prefix + rel, str(dest))

    def download_snapshot(self, name: str, stage: Path, *, only: str | None = None) -> Path:
        """The snapshot's files (or only the one named `only`) into `stage/snapshots/`."""
        under = f"snapshots/{name}/"
        for rel, _ in self._listed(under):
            inner = rel.removeprefix(under)
            parts = inner.split("/")
            if not inner or ".." in parts or (only is not None and inner != only):
                continue
            self._download(rel, stage / "snapshots" / name / inner)
        return stage / "snapshots" / name

    def download_objects(self, stage: Path, listing: Path) -> None:
        """Every object the snapshot's object list names that the bucket holds, into
        `stage/objects/` (one missing is reported by the verification that follows)."""
        have = self.object_sizes()
        try:
            with listing.open(encoding="utf-8") as handle:
                keys = [json.loads(line)["key"] for line in handle]
        except (OSError, ValueError, KeyError):
            return  # an unreadable list: the verification reports it
        for key in keys:
            if isinstance(key, str) and is_key(key) and key in have:
                self._download(f"objects/{key}", stage / "objects" / key)

    def upload(self, path: Path, rel: str) -> None:
        self.client.upload_file(str(path), self.bucket, self.prefix + rel)

    def delete(self, rels: Iterable[str]) -> int:
        batch: list[Any] = []
        count = 0
        for rel in rels:
            batch.append({"Key": self.prefix + rel})
            if len(batch) == 1000:
                count += self._delete_batch(batch)
                batch = []
        if batch:
            count += self._delete_batch(batch)
        return count

    def _delete_batch(self, batch: list[Any]) -> int:
        self.client.delete_objects(Bucket=self.bucket, Delete={"Objects": batch, "Quiet": True})
        return len(batch)

    def listing(self, name: str, stage: Path) -> dict[str, tuple[str, int]]:
        """A snapshot's object list (key → SHA-256, size)."""
        snap = self.download_snapshot(name, stage, only="objects.jsonl")
        out = {}
        with (snap / "objects.jsonl").open(encoding="utf-8") as handle:
            for line in handle:
                row = json.loads(line)
                out[row["key"]] = (row["sha256"], row["size"])
        return out

    def keys_under(self, under: str) -> list[str]:
        return [rel for rel, _ in self._listed(under)]
