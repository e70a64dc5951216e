"""Backup, verification, restore and retention of a whole Hounsfield instance.

A backup target is a directory:

    objects/<storage key>        every stored object once, shared by all snapshots
    snapshots/<UTC time>/        one per backup, never changed after it is made
        manifest.json            what the snapshot holds, with the SHA-256 of each file
        database.*.sealed        the consistent dump (backup/database.py)
        objects.jsonl            every object the dump's rows name: key, SHA-256, size
        secrets/                 the data directory's generated keys, except the token key

Every file that holds patient data or keys (the dump, the objects, the secrets) is sealed
with the backup key (backup/crypto.py, SECURITY P6); the manifest and the object list hold
only digests, sizes and storage keys (digests themselves). The SHA-256s are those of the
plaintext, so an object's matches its index row.

A snapshot is written under a temporary name and renamed when complete, so a backup that
died is never the latest. Objects are incremental: one already in the target with the
SHA-256 the previous snapshot recorded is not copied again. Every copy is hashed on the
way and compared with the SHA-256 of its index row, so a corrupt object is reported, never
backed up as if it were good. `verify` re-hashes everything a snapshot names; `restore`
decrypts each file once, checking it as `verify` does: the dump and the keys first, then
every object on its way into the (empty) configured storage (which checks each SHA-256
again); only when all passed does it copy the keys, load the dump into the empty database,
migrate and audit the restore (a refused restore removes the objects it put).

The token key is left out: sessions of the old instance end at a restore (a new key is
generated). In production the keys come from the settings: keep them with the backup's
secrets (docs/operations.md). The backup and the restore are audited (backup.create,
backup.restore).
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

from sqlalchemy import create_engine, inspect, select
from sqlalchemy.engine import Engine

from hounsfield.ai.models import AiModelVersion
from hounsfield.backup import crypto, database
from hounsfield.backup.s3target import S3Target, is_s3_url
from hounsfield.config import Settings
from hounsfield.storage import get_storage
from hounsfield.storage.backend import ObjectNotFound, StorageBackend, StorageUnavailable, is_key
from hounsfield.studies.models import Instance

__all__ = ["BackupResult", "VerifyResult", "backup", "prune", "restore", "snapshots", "verify"]

FORMAT = 2  # 2: sealed files
CHUNK = 1 << 20
LEFT_OUT_SECRETS = {"token.key", crypto.KEY_FILE}  # new sessions; the key is kept apart


@dataclass
class BackupResult:
    name: str
    objects: int = 0
    copied: int = 0
    copied_bytes: int = 0
    problems: list[str] = field(default_factory=list)


@dataclass
class VerifyResult:
    name: str
    objects: int = 0
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


class RestoreRefused(RuntimeError):
    """The restore would overwrite an instance, or the snapshot does not verify."""


# -- the target ------------------------------------------------------------------------


def snapshots(target: Path) -> list[str]:
    """The complete snapshots in `target`, oldest first."""
    root = target / "snapshots"
    if not root.is_dir():
        return []
    return sorted(p.name for p in root.iterdir() if (p / "manifest.json").is_file()
                  and not p.name.startswith("."))  # fmt: skip


def _snapshot(target: Path, name: str | None) -> str:
    names = snapshots(target)
    if not names:
        raise FileNotFoundError(f"no snapshot in {target}")
    if name is None:
        return names[-1]
    if name not in names:
        raise FileNotFoundError(f"no snapshot {name} in {target}")
    return name


@contextlib.contextmanager
def _locked(target: Path) -> Iterator[None]:
    """One backup or prune at a time per target (the scheduled one and a manual one)."""
    target.mkdir(parents=True, exist_ok=True)
    with (target / ".lock").open("a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def _object_path(target: Path, key: str) -> Path:
    if not is_key(key):  # keys come from our index, but the path must stay inside
        raise ValueError(f"not a storage key: {key!r}")
    return target / "objects" / key


def _plain_sha256(path: Path, sealing: bytes) -> str | None:
    """The SHA-256 of a sealed file's plaintext; None if the seal is broken."""
    try:
        return crypto.plaintext_sha256(path, sealing)
    except crypto.SealBroken:
        return None


def _sha256_of(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def _listed(snapshot_dir: Path) -> dict[str, tuple[str, int]]:
    path = snapshot_dir / "objects.jsonl"
    out = {}
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            row = json.loads(line)
            out[row["key"]] = (row["sha256"], row["size"])
    return out


# -- backup ----------------------------------------------------------------------------


def _index_objects(engine: Engine) -> Iterator[tuple[str, str, int, bool]]:
    """(key, sha256, size, deleted) of every object the index names."""
    with engine.connect() as conn:
        rows = conn.execute(
            select(Instance.storage_key, Instance.sha256, Instance.size, Instance.deleted_at)
        )
        for key, sha, size, deleted_at in rows:
            yield key, sha, size, deleted_at is not None
        models = conn.execute(
            select(AiModelVersion.storage_key, AiModelVersion.sha256, AiModelVersion.size)
            .where(AiModelVersion.storage_key.is_not(None))
        )  # fmt: skip
        for model_key, model_sha, model_size in models:
            if model_key and model_sha:
                yield model_key, model_sha, model_size, False


def _copy_verified(source: BinaryIO, dest: Path, sha256: str | None, sealing: bytes) -> int | None:
    """Seal into `dest` (temp file, fsync, rename); None if the bytes do not match."""
    dest.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=".tmp-", dir=dest.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as out:
            digest, size = crypto.seal(source, out, sealing)
            out.flush()
            os.fsync(out.fileno())
        if sha256 is not None and digest != sha256:
            tmp.unlink()
            return None
        os.replace(tmp, dest)
        return size
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _in_directory(target: Path) -> Callable[[str, int], bool]:
    def have(key: str, sealed: int) -> bool:
        dest = _object_path(target, key)
        return dest.is_file() and dest.stat().st_size == sealed

    return have


def _copy_objects(settings: Settings, target: Path, engine: Engine, previous: dict[str, Any],
                  result: BackupResult, sealing: bytes,
                  have: Callable[[str, int], bool]) -> list[dict[str, Any]]:  # fmt: skip
    storage = get_storage(settings)
    listed: dict[str, dict[str, Any]] = {}
    for key, sha, size, deleted in _index_objects(engine):
        if key in listed:
            continue
        dest = _object_path(target, key)
        sealed = crypto.sealed_size(size)
        if previous.get(key, ("",))[0] == sha and have(key, sealed):
            listed[key] = {"key": key, "sha256": sha, "size": size}
            continue  # incremental: the target has it from an earlier snapshot
        try:
            with storage.open(key) as source:
                copied = _copy_verified(source, dest, sha, sealing)
        except ObjectNotFound:
            if not deleted:  # a deleted instance's object may already be purged
                result.problems.append(f"object {key} is missing from the storage")
            continue
        if copied is None:
            result.problems.append(f"object {key} does not match its SHA-256 (not backed up)")
            continue
        result.copied += 1
        result.copied_bytes += copied
        listed[key] = {"key": key, "sha256": sha, "size": size}
    return sorted(listed.values(), key=lambda row: row["key"])


def _copy_secrets(settings: Settings, snapshot_dir: Path, sealing: bytes) -> dict[str, str]:
    source = settings.data_dir / "secrets"
    out: dict[str, str] = {}
    if not source.is_dir():
        return out
    for path in sorted(source.rglob("*")):
        name = path.relative_to(source).as_posix()
        if not path.is_file() or path.name in LEFT_OUT_SECRETS or path.name.startswith("."):
            continue
        dest = snapshot_dir / "secrets" / name
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        with path.open("rb") as key_file, dest.open("wb") as sealed:
            out[name] = crypto.seal(key_file, sealed, sealing)[0]
        dest.chmod(0o600)
    return out


def _new_name(target: Path) -> str:
    return _unique(datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), snapshots(target))


def _unique(name: str, existing: list[str]) -> str:
    n, candidate = 1, name
    while candidate in existing:
        n += 1
        candidate = f"{name}-{n}"
    return candidate


def backup(settings: Settings, target: Path | str) -> BackupResult:
    """Make a snapshot of the database, the objects and the keys in `target` (a directory,
    or an `s3://bucket/prefix` URL: backup/s3target.py)."""
    from hounsfield.audit import service as audit

    audit.flush_buffer()  # acknowledged reads of this process and dead ones are in the dump
    audit.seal_all()
    sealing = crypto.backup_key(settings)
    if is_s3_url(target):
        assert isinstance(target, str)
        result, shown = _backup_s3(settings, S3Target(settings, target), sealing), target
    else:
        directory = Path(target).resolve()
        with _locked(directory):
            names = snapshots(directory)
            previous = _listed(directory / "snapshots" / names[-1]) if names else {}
            result = _make_snapshot(settings, directory, _new_name(directory), previous,
                                    _in_directory(directory), sealing)  # fmt: skip
        shown = str(directory)
    _audit_backup(result, shown)
    return result


def _backup_s3(settings: Settings, s3: S3Target, sealing: bytes) -> BackupResult:
    """The snapshot made in a private directory, then uploaded: new objects, the snapshot's
    files, its manifest last (only a snapshot with a manifest is one)."""
    names = s3.snapshots()
    name = _unique(datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ"), names)
    with tempfile.TemporaryDirectory(prefix="hf-s3-backup-") as staging:
        stage = Path(staging)
        previous = s3.listing(names[-1], stage / "previous") if names else {}
        sizes = s3.object_sizes()
        result = _make_snapshot(settings, stage, name, previous,
                                lambda key, sealed: sizes.get(key) == sealed, sealing)  # fmt: skip
        objects = stage / "objects"
        if objects.is_dir():
            for path in sorted(objects.rglob("*")):
                if path.is_file() and not path.name.startswith("."):
                    s3.upload(path, f"objects/{path.relative_to(objects).as_posix()}")
        snap = stage / "snapshots" / name
        for path in sorted(snap.rglob("*")):
            if path.is_file() and path.name != "manifest.json":
                s3.upload(path, f"snapshots/{name}/{path.relative_to(snap).as_posix()}")
        s3.upload(snap / "manifest.json", f"snapshots/{name}/manifest.json")
    return result


def _audit_backup(result: BackupResult, shown: str) -> None:
    from hounsfield.audit import service as audit
    from hounsfield.db import transaction

    with transaction(write=True) as session:
        audit.record(
            session, "backup.create", None, resource_type="backup", resource_id=result.name,
            detail={"target": shown, "objects": result.objects, "copied": result.copied,
                    "problems": len(result.problems)},
        )  # fmt: skip


def _make_snapshot(
    settings: Settings, target: Path, name: str, previous: dict[str, Any],
    have: Callable[[str, int], bool], sealing: bytes,
) -> BackupResult:  # fmt: skip
    """Snapshot `name` in the directory `target`; an object `have` says the target holds
    (with the SHA-256 `previous` lists) is not copied."""
    from hounsfield.migrate import current_revision

    with tempfile.TemporaryDirectory(prefix="hf-dump-") as plain:
        result = BackupResult(name)
        work = Path(tempfile.mkdtemp(prefix=f".tmp-{name}-", dir=_mkdir(target / "snapshots")))
        try:
            url = settings.sqlalchemy_url
            dumped = database.dump(url, Path(plain))  # plaintext: private, deleted at the end
            engine = create_engine(f"sqlite:///{dumped}" if database.dialect(url) == "sqlite"
                                   else url)  # fmt: skip
            try:
                objects = _copy_objects(settings, target, engine, previous, result, sealing,
                                        have)  # fmt: skip
            finally:
                engine.dispose()
            sealed_dump = work / f"{dumped.name}.sealed"
            with dumped.open("rb") as source, sealed_dump.open("wb") as out:
                dump_sha, dump_size = crypto.seal(source, out, sealing)
            result.objects = len(objects)
            with (work / "objects.jsonl").open("w", encoding="utf-8") as handle:
                for row in objects:
                    handle.write(json.dumps(row, sort_keys=True) + "\n")
            manifest = {
                "format": FORMAT,
                "name": name,
                "created_at": datetime.now(UTC).isoformat(),
                "dialect": database.dialect(url),
                "revision": current_revision(),
                "database": {"file": sealed_dump.name, "sha256": dump_sha, "size": dump_size},
                "encryption": {
                    "cipher": "AES-256-GCM",
                    "chunk": crypto.CHUNK,
                    "key_id": crypto.key_id(sealing),
                },
                "objects": {
                    "file": "objects.jsonl",
                    "sha256": _sha256_of(work / "objects.jsonl"),
                    "count": len(objects),
                    "bytes": sum(r["size"] for r in objects),
                },
                "secrets": _copy_secrets(settings, work, sealing),
                "complete": not result.problems,
            }
            _write_json(work / "manifest.json", manifest)
            os.replace(work, target / "snapshots" / name)
        except BaseException:
            shutil.rmtree(work, ignore_errors=True)
            raise
    return result


def _mkdir(path: Path) -> Path:
    path.mkdir(parents=True, exist_ok=True)
    return path


def _write_json(path: Path, value: dict[str, Any]) -> None:
    with path.open("w", encoding="utf-8") as handle:
        json.dump(value, handle, indent=2, sort_keys=True)
        handle.write("\n")
        handle.flush()
        os.fsync(handle.fileno())


# -- verify ----------------------------------------------------------------------------


def _manifest(snap: Path, sealing: bytes, result: VerifyResult) -> dict[str, Any] | None:
    """The snapshot's manifest; None (the problem recorded) if it is unreadable, of another
    format or made with another key. An incomplete backup is recorded but still read."""
    try:
        manifest: dict[str, Any] = json.loads((snap / "manifest.json").read_text("utf-8"))
    except (OSError, ValueError) as exc:
        result.problems.append(f"manifest unreadable: {exc}")
        return None
    if manifest.get("format") != FORMAT:
        result.problems.append(f"unknown backup format {manifest.get('format')!r}")
        return None
    if manifest["encryption"]["key_id"] != crypto.key_id(sealing):
        result.problems.append("this is not the key the backup was made with (backup.key)")
        return None
    if not manifest.get("complete", False):
        result.problems.append("the backup reported problems when it was made (incomplete)")
    return manifest


@contextlib.contextmanager
def _staged(settings: Settings, url: str, name: str | None) -> Iterator[tuple[Path, str]]:
    """An S3 target's snapshot and its objects downloaded into a private directory."""
    s3 = S3Target(settings, url)
    name = s3.snapshot(name)
    with tempfile.TemporaryDirectory(prefix="hf-s3-restore-") as staging:
        stage = Path(staging)
        snap = s3.download_snapshot(name, stage)
        s3.download_objects(stage, snap / "objects.jsonl")
        yield stage, name


def verify(settings: Settings, target: Path | str, name: str | None = None) -> VerifyResult:
    """Decrypt and re-hash every file a snapshot names; every difference is a problem."""
    if is_s3_url(target):
        assert isinstance(target, str)
        crypto.backup_key(settings, create=False)  # no key: nothing to download
        with _staged(settings, target, name) as (stage, staged_name):
            return verify(settings, stage, staged_name)
    target = Path(target)
    sealing = crypto.backup_key(settings, create=False)
    name = _snapshot(target, name)
    snap = target / "snapshots" / name
    result = VerifyResult(name)
    manifest = _manifest(snap, sealing, result)
    if manifest is None:
        return result
    for part, sealed in (("database", True), ("objects", False)):
        entry = manifest[part]
        path = snap / entry["file"]
        if not path.is_file():
            result.problems.append(f"{entry['file']} is missing")
        elif (_plain_sha256(path, sealing) if sealed else _sha256_of(path)) != entry["sha256"]:
            result.problems.append(f"{entry['file']} does not match its SHA-256")
    for secret, sha in manifest.get("secrets", {}).items():
        path = snap / "secrets" / secret
        if not _secret_name_ok(secret) or not path.is_file() or _plain_sha256(path, sealing) != sha:
            result.problems.append(f"secret {secret} is missing or altered")
    if any(p.startswith("objects.jsonl") for p in result.problems):
        return result
    for key, (sha, size) in _listed(snap).items():
        result.objects += 1
        path = _object_path(target, key)
        if not path.is_file():
            result.problems.append(f"object {key} is missing")
        elif path.stat().st_size != crypto.sealed_size(size) or _plain_sha256(path, sealing) != sha:
            result.problems.append(f"object {key} does not match its SHA-256")
    return result


# -- restore ---------------------------------------------------------------------------


def _refuse_unless_empty(settings: Settings) -> None:
    url = settings.sqlalchemy_url
    if database.dialect(url) == "sqlite":
        path = database.sqlite_path(url)
        if path.exists() and path.stat().st_size > 0:
            raise RestoreRefused(f"the database {path} exists: restore into a fresh instance")
    else:
        engine = create_engine(url)
        try:
            if inspect(engine).get_table_names():
                raise RestoreRefused("the database has tables: restore into an empty database")
        finally:
            engine.dispose()
    if next(iter(get_storage(settings).iter_keys()), None) is not None:
        raise RestoreRefused("the storage holds objects: restore into an empty storage")


def _secret_name_ok(name: str) -> bool:
    """A name under secrets/ (the manifest is not sealed: it must not point elsewhere)."""
    parts = Path(name).parts
    return bool(parts) and not Path(name).is_absolute() and ".." not in parts


def _open_secrets(
    settings: Settings, snap: Path, manifest: dict[str, Any], sealing: bytes, result: VerifyResult
) -> dict[Path, bytes]:
    """The snapshot's keys, decrypted and checked against the manifest, by destination."""
    out = {}
    for secret, sha in manifest.get("secrets", {}).items():
        path = snap / "secrets" / secret
        try:
            value = b"".join(crypto.unsealed(path, sealing)) if _secret_name_ok(secret) else None
        except (OSError, crypto.SealBroken):
            value = None
        if value is None or hashlib.sha256(value).hexdigest() != sha:
            result.problems.append(f"secret {secret} is missing or altered")
            continue
        dest = settings.data_dir / "secrets" / secret
        if dest.exists() and dest.read_bytes() != value:
            raise RestoreRefused(f"a different key already exists: {dest}")
        out[dest] = value
    return out


def _write_secrets(secrets: dict[Path, bytes]) -> None:
    for dest, value in secrets.items():
        dest.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        dest.parent.chmod(0o700)
        fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(value)


def _unseal_checked(path: Path, dest: Path, sealing: bytes, sha: str) -> bool:
    """Decrypt into `dest`; whether the plaintext is the one the manifest names."""
    try:
        return crypto.unseal_to(path, dest, sealing) == sha
    except crypto.SealBroken:
        return False


def _put_objects(
    storage: StorageBackend, target: Path, snap: Path, sealing: bytes, plain: Path,
    result: VerifyResult, put: list[str],
) -> None:  # fmt: skip
    """Decrypt every listed object once, check it and put it into the (empty) storage,
    adding its key to `put`. A failed check is a problem and that object is not put."""
    for key, (sha, size) in _listed(snap).items():
        result.objects += 1
        path, object_plain = _object_path(target, key), plain / "object"
        if not path.is_file():
            result.problems.append(f"object {key} is missing")
        elif path.stat().st_size != crypto.sealed_size(size) or not _unseal_checked(
            path, object_plain, sealing, sha
        ):
            result.problems.append(f"object {key} does not match its SHA-256")
        else:
            storage.put(key, object_plain, sha)  # checks the SHA-256 once more
            put.append(key)


def _open_dump_and_listing(
    snap: Path, manifest: dict[str, Any], sealing: bytes, plain: Path, result: VerifyResult
) -> Path:
    """The dump decrypted into `plain`; both it and the object list checked."""
    dump_name: str = manifest["database"]["file"]
    listing_name: str = manifest["objects"]["file"]
    sealed_dump, listing = snap / dump_name, snap / listing_name
    dump = plain / sealed_dump.name.removesuffix(".sealed")
    if not sealed_dump.is_file():
        result.problems.append(f"{dump_name} is missing")
    elif not _unseal_checked(sealed_dump, dump, sealing, manifest["database"]["sha256"]):
        result.problems.append(f"{dump_name} does not match its SHA-256")
    if not listing.is_file():
        result.problems.append(f"{listing_name} is missing")
    elif _sha256_of(listing) != manifest["objects"]["sha256"]:
        result.problems.append(f"{listing_name} does not match its SHA-256")
    return dump


def _refused(result: VerifyResult) -> RestoreRefused:
    return RestoreRefused(f"snapshot {result.name} does not verify: {result.problems[:5]}")


def restore(settings: Settings, target: Path | str, name: str | None = None) -> VerifyResult:
    """Rebuild the instance the settings name (empty database and storage) from a snapshot.

    Every file is decrypted once and checked as `verify` checks it. The objects go into the
    empty storage as they pass; the keys and the database, which make the instance, are
    written only when everything passed. A refused restore takes the objects it put out
    again, leaving the instance as empty as it found it. An `s3://` target is downloaded
    into a private directory first, and restored from there."""
    if is_s3_url(target):
        assert isinstance(target, str)
        _refuse_unless_empty(settings)  # before downloading anything
        with _staged(settings, target, name) as (stage, staged_name):
            return _restore(settings, stage, staged_name, shown=target)
    return _restore(settings, Path(target).resolve(), name, shown=None)


def _restore(settings: Settings, target: Path, name: str | None, shown: str | None) -> VerifyResult:
    _refuse_unless_empty(settings)
    try:
        sealing = crypto.backup_key(settings, create=False)
    except crypto.KeyMissing as exc:
        raise RestoreRefused(str(exc)) from exc
    checked = VerifyResult(_snapshot(target, name))
    snap = target / "snapshots" / checked.name
    manifest = _manifest(snap, sealing, checked)
    if manifest is None or not checked.ok:
        raise _refused(checked)
    if manifest["dialect"] != database.dialect(settings.sqlalchemy_url):
        raise RestoreRefused(f"a {manifest['dialect']} dump cannot be loaded into this database")
    with tempfile.TemporaryDirectory(prefix="hf-restore-") as plain:
        dump = _open_dump_and_listing(snap, manifest, sealing, Path(plain), checked)
        secrets = _open_secrets(settings, snap, manifest, sealing, checked)
        if not checked.ok:
            raise _refused(checked)
        storage, put = get_storage(settings), list[str]()
        try:
            _put_objects(storage, target, snap, sealing, Path(plain), checked, put)
            if not checked.ok:
                raise _refused(checked)
            _write_secrets(secrets)
            database.load(settings.sqlalchemy_url, dump)
        except BaseException:
            for key in put:  # the storage as empty as it was: a later restore may run
                with contextlib.suppress(StorageUnavailable):
                    storage.delete(key)
            raise
    _migrate_and_audit(shown or str(target), checked, manifest)
    return checked


def _migrate_and_audit(target: str, checked: VerifyResult, manifest: dict[str, Any]) -> None:
    from hounsfield.audit import service as audit
    from hounsfield.db import reset_engine, transaction
    from hounsfield.migrate import upgrade

    reset_engine()
    upgrade()  # a snapshot of an older version is migrated to this one
    with transaction(write=True) as session:
        audit.record(
            session, "backup.restore", None, resource_type="backup", resource_id=checked.name,
            detail={"target": target, "objects": checked.objects,
                    "revision": manifest["revision"]},
        )  # fmt: skip
    audit.seal_all()


# -- retention -------------------------------------------------------------------------


def _prune_s3(s3: S3Target, keep: int) -> tuple[list[str], int]:
    names = s3.snapshots()
    removed = names[:-keep] if keep < len(names) else []
    for name in removed:  # the manifest first: a half-removed snapshot is none
        s3.delete([f"snapshots/{name}/manifest.json"])
        s3.delete(s3.keys_under(f"snapshots/{name}/"))
    kept: set[str] = set()
    with tempfile.TemporaryDirectory(prefix="hf-s3-prune-") as staging:
        for name in names[len(removed) :]:
            kept.update(s3.listing(name, Path(staging)))
    unlisted = [f"objects/{key}" for key in s3.object_sizes() if key not in kept]
    return removed, s3.delete(unlisted)


def prune(target: Path | str, keep: int, settings: Settings | None = None) -> tuple[list[str], int]:
    """Remove all but the `keep` newest snapshots and the objects none of them lists;
    returns the removed snapshots and the number of objects removed. An `s3://` target
    reaches its bucket with `settings` (default: this process's)."""
    if is_s3_url(target):
        from hounsfield.config import get_settings

        assert isinstance(target, str)
        return _prune_s3(S3Target(settings or get_settings(), target), keep)
    target = Path(target).resolve()
    with _locked(target):
        names = snapshots(target)
        removed = names[:-keep] if keep < len(names) else []
        for name in removed:
            shutil.rmtree(target / "snapshots" / name)
        kept: set[str] = set()
        for name in snapshots(target):
            kept.update(_listed(target / "snapshots" / name))
        objects = target / "objects"
        gone = 0
        if objects.is_dir():
            for path in objects.rglob("*"):
                key = path.relative_to(objects).as_posix()
                if path.is_file() and (key not in kept or not is_key(key)):
                    path.unlink()
                    gone += 1
    return removed, gone


def due(target: Path, interval: timedelta, now: datetime) -> bool:
    """Whether the newest snapshot in `target` is older than `interval` (or there is none)."""
    names = snapshots(target)
    if not names:
        return True
    manifest = json.loads((target / "snapshots" / names[-1] / "manifest.json").read_text())
    return now - datetime.fromisoformat(manifest["created_at"]) >= interval
