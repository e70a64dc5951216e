"""Patient secrets at rest: AES-256-GCM for the national ID and phone, an HMAC to find them.

Each ciphertext is stored with the id of the key that made it, so keys can rotate: the
first key of the keyring encrypts, every key decrypts, and `hounsfield patients rotate-key`
re-encrypts the rows made with older keys (docs/patients.md). The exact-search hash uses a
key of its own (auth/keys.py): knowing it reveals nothing that the ciphertext hides, and it
never rotates, so the hashes stay valid across encryption-key rotations.

There is no built-in key. Production takes the keyring from the settings; embedded mode
generates one on first start under `<data_dir>/secrets/patient-keys/` (mode 0600).
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import re
import secrets
import stat
import tempfile
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from hounsfield.auth.keys import UnsafeSecret, patient_hash_key
from hounsfield.config import Settings

KEY_BYTES = 32
NONCE_BYTES = 12
KEY_DIR = "patient-keys"
_KEY_ID = re.compile(r"^[A-Za-z0-9_-]{1,16}$")


@dataclass(frozen=True)
class Keyring:
    """The encryption keys by id; `current` encrypts."""

    keys: dict[str, bytes]
    current: str

    def encrypt(self, field: str, plaintext: str) -> str:
        """nonce ‖ ciphertext ‖ tag, base64; the field name is bound as associated data."""
        nonce = os.urandom(NONCE_BYTES)
        sealed = AESGCM(self.keys[self.current]).encrypt(
            nonce, plaintext.encode("utf-8"), field.encode("ascii")
        )
        return base64.b64encode(nonce + sealed).decode("ascii")

    def decrypt(self, key_id: str, field: str, token: str) -> str:
        key = self.keys.get(key_id)
        if key is None:
            raise UnsafeSecret(f"patient encryption key {key_id!r} is missing from the keyring")
        raw = base64.b64decode(token)
        plain = AESGCM(key).decrypt(raw[:NONCE_BYTES], raw[NONCE_BYTES:], field.encode("ascii"))
        return plain.decode("utf-8")


def keyring(settings: Settings, *, needs: str | None = None) -> Keyring:
    """The keyring; reloaded once when it lacks key `needs` (another process rotated)."""
    ring = _keyring(settings)
    if needs is not None and needs not in ring.keys:
        forget()
        ring = _keyring(settings)
    return ring


def _keyring(settings: Settings) -> Keyring:
    configured = settings.patients.encryption_keys
    if configured is not None:
        return _parse_keyring(configured.get_secret_value())
    if settings.mode == "production":
        raise UnsafeSecret("HOUNSFIELD_PATIENTS__ENCRYPTION_KEYS is required in production")
    return _generated_keyring((settings.data_dir / "secrets" / KEY_DIR).resolve())


def _decode_key(text: str) -> bytes:
    key = base64.urlsafe_b64decode(text.strip() + "=" * (-len(text.strip()) % 4))
    if len(key) != KEY_BYTES:
        raise UnsafeSecret(f"a patient encryption key must be {KEY_BYTES} bytes (base64)")
    return key


@lru_cache(maxsize=8)
def _parse_keyring(value: str) -> Keyring:
    keys: dict[str, bytes] = {}
    for entry in value.split(","):
        key_id, _, encoded = entry.strip().partition(":")
        if not _KEY_ID.match(key_id) or not encoded:
            raise UnsafeSecret("patient encryption keys are `id:base64key` pairs, comma-separated")
        keys[key_id] = _decode_key(encoded)
    first = value.split(",")[0].strip().partition(":")[0]
    return Keyring(keys=keys, current=first)


@lru_cache(maxsize=8)
def _generated_keyring(directory: Path) -> Keyring:
    if not any(directory.glob("*.key")):
        _add_key(directory, first=True)
    keys: dict[str, bytes] = {}
    for path in directory.glob("*.key"):
        if path.stat().st_mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise UnsafeSecret(f"{path} is readable by others: chmod 600 it")
        keys[path.stem] = _decode_key(path.read_text(encoding="ascii"))
    # Generated ids are numbers; the highest is the newest.
    current = max(keys, key=lambda k: (len(k), k))
    return Keyring(keys=keys, current=current)


def add_generated_key(directory: Path) -> str:
    """Write a new key, numbered after the others (it becomes current); returns its id."""
    return _add_key(directory, first=False)


def _add_key(directory: Path, *, first: bool) -> str:
    """Publish a complete key file under the next free number.

    The key is written and fsync'd under a temporary name, then hard-linked into place:
    the link fails if the name exists, so two processes (or two threads) that start at once
    never overwrite each other's key, and no reader ever sees a half-written file. When the
    first key is wanted and another writer published it meanwhile, that key is used.
    """
    directory.mkdir(parents=True, exist_ok=True, mode=0o700)
    encoded = base64.urlsafe_b64encode(secrets.token_bytes(KEY_BYTES)).decode("ascii")
    fd, temporary = tempfile.mkstemp(dir=directory, suffix=".tmp")  # mode 0600
    try:
        with os.fdopen(fd, "w", encoding="ascii") as handle:
            handle.write(encoded + "\n")
            handle.flush()
            os.fsync(handle.fileno())
        while True:
            numbers = [int(p.stem) for p in directory.glob("*.key") if p.stem.isdigit()]
            if first and numbers:
                return str(max(numbers))
            key_id = str(max(numbers, default=0) + 1)
            try:
                os.link(temporary, directory / f"{key_id}.key")
                break
            except FileExistsError:
                continue  # another writer took this number: look again
    finally:
        os.unlink(temporary)
    forget()
    return key_id


def generated_key_dir(settings: Settings) -> Path | None:
    """Where embedded mode keeps its generated keys (None when the settings hold them)."""
    if settings.patients.encryption_keys is not None or settings.mode == "production":
        return None
    return (settings.data_dir / "secrets" / KEY_DIR).resolve()


def keyed_hash(settings: Settings, kind: str, value: str) -> str:
    """HMAC-SHA256 of a normalized value, per kind (a phone never matches an ID)."""
    return hmac.new(_hash_key(settings), f"{kind}:{value}".encode(), hashlib.sha256).hexdigest()


def _hash_key(settings: Settings) -> bytes:
    # Cached per settings object: finding the key file costs a path resolution per call.
    key = _hash_keys.get(id(settings))
    if key is None or key[0] is not settings:
        key = (settings, patient_hash_key(settings).encode("utf-8"))
        _hash_keys[id(settings)] = key
    return key[1]


_hash_keys: dict[int, tuple[Settings, bytes]] = {}


def forget() -> None:
    """Drop cached keyrings (after a key is added, and in tests)."""
    _parse_keyring.cache_clear()
    _generated_keyring.cache_clear()
    _hash_keys.clear()
