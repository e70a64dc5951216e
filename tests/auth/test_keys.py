"""The server's secrets (issue 14.1): generated, private, kept, and independent."""

from __future__ import annotations

import hashlib
import hmac
import os
import stat
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from hounsfield.auth import keys
from hounsfield.config import Settings, get_settings
from hounsfield.dicomweb.export import deidentification_key


def _start(data_dir: Path) -> str:
    """A fresh process on `data_dir`: the fingerprint of the token key it uses."""
    code = (
        "import hashlib; from hounsfield.auth.keys import token_key;"
        "from hounsfield.config import Settings;"
        "print(hashlib.sha256(token_key(Settings()).encode()).hexdigest())"
    )
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")}
    env = {**base, "HOUNSFIELD_DATA_DIR": str(data_dir), "PYTHONPATH": os.pathsep.join(sys.path)}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=60,
        check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.mark.nodb
def test_embedded_mode_generates_a_private_secret_and_keeps_it(tmp_path: Path) -> None:
    first = _start(tmp_path)
    key_file = tmp_path / "secrets" / keys.TOKEN_KEY_FILE
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert stat.S_IMODE(key_file.parent.stat().st_mode) & 0o077 == 0
    assert _start(tmp_path) == first  # the second start reuses it
    assert _start(tmp_path / "other") != first  # another instance has its own


@pytest.mark.nodb
def test_a_secret_readable_by_others_is_refused(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path)
    keys.token_key(settings)
    (tmp_path / "secrets" / keys.TOKEN_KEY_FILE).chmod(0o644)
    keys.forget()
    with pytest.raises(keys.UnsafeSecret, match="chmod 600"):
        keys.token_key(settings)
    keys.forget()


@pytest.mark.nodb
def test_a_short_configured_secret_is_refused(tmp_path: Path) -> None:
    with pytest.raises(keys.UnsafeSecret, match="HOUNSFIELD_SECRET_KEY"):
        keys.token_key(Settings(data_dir=tmp_path, secret_key="short"))  # type: ignore[arg-type]


def test_the_pseudonym_key_is_not_the_token_key() -> None:
    settings = get_settings()
    token = keys.token_key(settings)
    pseudonym = keys.deidentification_key(settings)
    assert pseudonym != token
    derived_from_token = hmac.new(token.encode(), b"hounsfield-deidentify-v1", hashlib.sha256)
    assert deidentification_key() != derived_from_token.digest()
    pseudonym_file = settings.data_dir / "secrets" / keys.DEIDENTIFICATION_KEY_FILE
    assert stat.S_IMODE(pseudonym_file.stat().st_mode) == 0o600
    assert pseudonym_file.read_text().strip() == pseudonym


def test_api_key_hashes_have_a_key_of_their_own(settings_env: Any) -> None:
    """A leaked token key gives no way to test guesses against a dump of API-key hashes,
    and rotating it leaves API keys working; the API-key secret decides the hash."""
    from hounsfield.auth import api_keys

    settings = get_settings()
    token, own = keys.token_key(settings), keys.api_key_secret(settings)
    assert own not in (token, keys.deidentification_key(settings))
    own_file = settings.data_dir / "secrets" / keys.API_KEY_FILE
    assert stat.S_IMODE(own_file.stat().st_mode) == 0o600
    assert own_file.read_text().strip() == own
    key = "hfk_0123456789ab_" + "k" * 43
    stored = api_keys._hash(settings, key)
    settings_env(HOUNSFIELD_SECRET_KEY="t" * 48)  # the token key rotated
    assert api_keys._hash(get_settings(), key) == stored
    settings_env(HOUNSFIELD_API_KEY_SECRET="a" * 48)  # the API-key secret changed
    assert api_keys._hash(get_settings(), key) != stored
