"""Backups at rest are encrypted (SECURITY P6): AES-256-GCM in 1 MiB chunks.

A sealed file is `MAGIC | 8-byte file id | chunk*`; each chunk is its ciphertext and GCM
tag. The nonce is the file id and the chunk's number; the associated data adds whether it
is the last chunk, so a chunk cannot be moved, dropped or cut off without the tag failing.
The key comes from `HOUNSFIELD_BACKUP__ENCRYPTION_KEY` (required in production), in
embedded mode from `<data_dir>/secrets/backup.key`, which the backup never holds: keep a
copy of it apart from the backups, or they cannot be restored (docs/operations.md).
"""

from __future__ import annotations

import hashlib
import os
import secrets
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.hazmat.primitives.kdf.hkdf import HKDF

from hounsfield.auth.keys import _secret
from hounsfield.config import Settings

MAGIC = b"HFBK\x01"
CHUNK = 1 << 20
TAG = 16
KEY_FILE = "backup.key"
_HEADER = len(MAGIC) + 8


class SealBroken(ValueError):
    """The file is not a sealed backup file, was altered, or needs another key."""


class KeyMissing(RuntimeError):
    """No backup key: a restore or verify on a machine that was never given it."""


def backup_key(settings: Settings, *, create: bool = True) -> bytes:
    """The AES key; `create=False` (verify, restore) never makes a new one, which could
    only fail to open the backup."""
    env = "HOUNSFIELD_BACKUP__ENCRYPTION_KEY"
    stored = (settings.data_dir / "secrets" / KEY_FILE).resolve()
    configured = settings.backup.encryption_key
    if configured is None and settings.mode != "production" and not create and not stored.exists():
        raise KeyMissing(
            f"the backup key is missing: copy the backup.key kept apart from the backups to "
            f"{stored} (mode 0600), or set {env}"
        )
    secret = _secret(settings, configured, KEY_FILE, env)
    derive = HKDF(hashes.SHA256(), 32, salt=None, info=b"hounsfield backup v1")
    return derive.derive(secret.encode())


def key_id(key: bytes) -> str:
    """A fingerprint that tells a wrong key from a damaged file, revealing nothing of it."""
    return hashlib.sha256(b"hounsfield backup key id\x00" + key).hexdigest()[:16]


def sealed_size(size: int) -> int:
    chunks = max(1, -(-size // CHUNK))
    return _HEADER + size + chunks * TAG


def _nonce(file_id: bytes, number: int) -> bytes:
    return file_id + number.to_bytes(4, "big")


def seal(source: BinaryIO, out: BinaryIO, key: bytes) -> tuple[str, int]:
    """Encrypt `source` into `out`; returns the SHA-256 and size of the plaintext."""
    aead, file_id = AESGCM(key), secrets.token_bytes(8)
    digest, size = hashlib.sha256(), 0
    out.write(MAGIC + file_id)
    chunk, number = source.read(CHUNK), 0
    while True:
        following = source.read(CHUNK) if chunk else b""
        last = not following
        digest.update(chunk)
        size += len(chunk)
        out.write(aead.encrypt(_nonce(file_id, number), chunk, MAGIC + bytes([last])))
        if last:
            return digest.hexdigest(), size
        chunk, number = following, number + 1


def unsealed(path: Path, key: bytes) -> Iterator[bytes]:
    """The plaintext of a sealed file, chunk by chunk; SealBroken if any chunk fails."""
    aead = AESGCM(key)
    with path.open("rb") as handle:
        header = handle.read(_HEADER)
        if len(header) != _HEADER or not header.startswith(MAGIC):
            raise SealBroken(f"{path.name} is not a sealed backup file")
        file_id, number = header[len(MAGIC) :], 0
        block = handle.read(CHUNK + TAG)
        while True:
            following = handle.read(CHUNK + TAG)
            last = not following
            try:
                yield aead.decrypt(_nonce(file_id, number), block, MAGIC + bytes([last]))
            except InvalidTag as exc:
                raise SealBroken(f"{path.name} was altered or needs another key") from exc
            if last:
                return
            block, number = following, number + 1


def unseal_to(path: Path, dest: Path, key: bytes) -> str:
    """Decrypt into `dest` (mode 0600); returns the plaintext's SHA-256."""
    digest = hashlib.sha256()
    fd = os.open(dest, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "wb") as out:
        for chunk in unsealed(path, key):
            digest.update(chunk)
            out.write(chunk)
    return digest.hexdigest()


def plaintext_sha256(path: Path, key: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in unsealed(path, key):
        digest.update(chunk)
    return digest.hexdigest()
