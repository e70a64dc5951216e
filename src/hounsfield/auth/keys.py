"""The server's secrets: the token signing key, the de-identification key and the key of
API-key hashes.

There is no built-in default. Production takes both from the settings (the validator in
config.py requires them). Embedded mode generates each on first start, keeps it under
`<data_dir>/secrets/` readable by the owner only (0600) and reuses it after a restart. The
keys are independent: knowing the token key gives nothing about pseudonyms, nor a way to
test guesses against the API-key hashes of a database dump.
"""

from __future__ import annotations

import os
import secrets
import stat
import threading
from functools import lru_cache
from pathlib import Path

from pydantic import SecretStr

from hounsfield.config import Settings

MIN_LENGTH = 32
# bandit B105: a file name under data_dir, not a secret.
TOKEN_KEY_FILE = "token.key"  # nosec B105
DEIDENTIFICATION_KEY_FILE = "deidentification.key"
PATIENT_HASH_KEY_FILE = "patient-hash.key"
REPORT_SIGNING_KEY_FILE = "report-signing.key"
API_KEY_FILE = "api-key.key"

_create_lock = threading.Lock()


class UnsafeSecret(RuntimeError):
    """A configured or stored secret that must not be used."""


def token_key(settings: Settings) -> str:
    """The HS256 key of access tokens."""
    return _secret(settings, settings.secret_key, TOKEN_KEY_FILE, "HOUNSFIELD_SECRET_KEY")


def deidentification_key(settings: Settings) -> str:
    """The keyed-hash secret of de-identification (pseudonyms, UIDs, date shifts)."""
    return _secret(
        settings,
        settings.deidentification_key,
        DEIDENTIFICATION_KEY_FILE,
        "HOUNSFIELD_DEIDENTIFICATION_KEY",
    )


def patient_hash_key(settings: Settings) -> str:
    """The HMAC secret that finds patients by national ID or phone (patients/crypto.py)."""
    return _secret(
        settings,
        settings.patients.hash_key,
        PATIENT_HASH_KEY_FILE,
        "HOUNSFIELD_PATIENTS__HASH_KEY",
    )


def report_signing_seed(settings: Settings) -> str:
    """The seed of the Ed25519 key that signs approved reports (reports/signing.py)."""
    return _secret(
        settings,
        settings.reports.signing_key,
        REPORT_SIGNING_KEY_FILE,
        "HOUNSFIELD_REPORTS__SIGNING_KEY",
    )


def api_key_secret(settings: Settings) -> str:
    """The HMAC key of stored API-key hashes (auth/api_keys.py)."""
    return _secret(settings, settings.api_key_secret, API_KEY_FILE, "HOUNSFIELD_API_KEY_SECRET")


def _secret(settings: Settings, configured: SecretStr | None, name: str, env: str) -> str:
    if configured is not None:
        value = configured.get_secret_value()
        if len(value) < MIN_LENGTH:
            raise UnsafeSecret(f"{env} must be a random value of {MIN_LENGTH}+ characters")
        return value
    if settings.mode == "production":  # the settings validator refuses this earlier
        raise UnsafeSecret(f"{env} is required in production")
    return _load_or_create((settings.data_dir / "secrets" / name).resolve())


@lru_cache(maxsize=16)
def _load_or_create(path: Path) -> str:
    with _create_lock:
        if not path.exists():
            _create(path)
    mode = path.stat().st_mode
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        raise UnsafeSecret(f"{path} is readable by others: chmod 600 it")
    value = path.read_text(encoding="ascii").strip()
    if len(value) < MIN_LENGTH:
        raise UnsafeSecret(f"{path} holds no usable secret")
    return value


def _create(path: Path) -> None:
    """Write a fresh secret atomically: another process starting at once keeps the first."""
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    try:
        os.write(fd, (secrets.token_urlsafe(48) + "\n").encode("ascii"))
        os.fsync(fd)
    finally:
        os.close(fd)
    try:
        os.link(tmp, path)  # fails if another process created it first: theirs wins
    except FileExistsError:
        pass
    finally:
        tmp.unlink()
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


def forget() -> None:
    """Drop the cached secrets (tests that remove or replace the files)."""
    _load_or_create.cache_clear()
