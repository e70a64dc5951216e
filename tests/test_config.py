"""Settings and production hardening (SECURITY.md A1, T3)."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
import sqlalchemy as sa
from pydantic import ValidationError

from hounsfield.config import Settings
from hounsfield.settings_doc import render

STRONG = "s" * 40
OTHER = "d" * 40
THIRD = "a" * 40
PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"


@pytest.mark.nodb
@pytest.mark.parametrize(
    ("env", "complaint"),
    [
        ({}, "HOUNSFIELD_SECRET_KEY"),
        ({"HOUNSFIELD_SECRET_KEY": "short"}, "HOUNSFIELD_SECRET_KEY"),
        ({"HOUNSFIELD_SECRET_KEY": STRONG}, "HOUNSFIELD_DEIDENTIFICATION_KEY"),
        (
            {"HOUNSFIELD_SECRET_KEY": STRONG, "HOUNSFIELD_DEIDENTIFICATION_KEY": STRONG},
            "other than the secret key",
        ),
        (
            {"HOUNSFIELD_SECRET_KEY": STRONG, "HOUNSFIELD_DEIDENTIFICATION_KEY": OTHER},
            "HOUNSFIELD_API_KEY_SECRET",
        ),
        (
            {
                "HOUNSFIELD_SECRET_KEY": STRONG,
                "HOUNSFIELD_DEIDENTIFICATION_KEY": OTHER,
                "HOUNSFIELD_API_KEY_SECRET": STRONG,
            },
            "other than the other two keys",
        ),
        (
            {
                "HOUNSFIELD_SECRET_KEY": STRONG,
                "HOUNSFIELD_DEIDENTIFICATION_KEY": OTHER,
                "HOUNSFIELD_API_KEY_SECRET": THIRD,
            },
            "HOUNSFIELD_DATABASE_URL",
        ),
        (
            {
                "HOUNSFIELD_SECRET_KEY": STRONG,
                "HOUNSFIELD_DEIDENTIFICATION_KEY": OTHER,
                "HOUNSFIELD_API_KEY_SECRET": THIRD,
                "HOUNSFIELD_DATABASE_URL": PG_ADMIN,
            },
            "COOKIE_SECURE",
        ),
    ],
)
def test_production_refuses_unsafe_settings(
    monkeypatch: pytest.MonkeyPatch, env: dict[str, str], complaint: str
) -> None:
    monkeypatch.delenv("HOUNSFIELD_DATABASE_URL", raising=False)
    monkeypatch.setenv("HOUNSFIELD_MODE", "production")
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    with pytest.raises(ValidationError, match=complaint):
        Settings()


def _serve(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")}
    return subprocess.run(
        [sys.executable, "-m", "hounsfield.cli", "serve", "--port", "0"],
        env={**base, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.nodb
def test_serve_exits_with_a_clear_message_in_unsafe_production(tmp_path: object) -> None:
    result = _serve({"HOUNSFIELD_MODE": "production", "HOUNSFIELD_DATA_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "production mode refuses to start" in result.stderr
    assert "HOUNSFIELD_SECRET_KEY" in result.stderr


@pytest.mark.nodb
def test_production_refuses_to_start_with_demo_accounts(tmp_path: object) -> None:
    """A real PostgreSQL database with demo accounts: the server must not come up."""
    name = "hf_prodcheck"
    admin = sa.create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{name}"'))
    url = f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    env = {"HOUNSFIELD_DATABASE_URL": url, "HOUNSFIELD_DATA_DIR": str(tmp_path)}
    base = {k: v for k, v in os.environ.items() if not k.startswith("HOUNSFIELD_")}
    for command in (["migrate"], ["demo"]):
        done = subprocess.run(
            [sys.executable, "-m", "hounsfield.cli", *command],
            env={**base, **env, "PYTHONPATH": os.pathsep.join(sys.path)},
            capture_output=True, text=True, timeout=120, check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
    result = _serve(
        {
            **env,
            "HOUNSFIELD_MODE": "production",
            "HOUNSFIELD_SECRET_KEY": STRONG,
            "HOUNSFIELD_DEIDENTIFICATION_KEY": OTHER,
            "HOUNSFIELD_API_KEY_SECRET": THIRD,
            "HOUNSFIELD_AUTH__COOKIE_SECURE": "true",
        }
    )
    assert result.returncode != 0
    assert "demo accounts exist" in result.stderr
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))


@pytest.mark.nodb
def test_defaults_bind_to_loopback() -> None:
    settings = Settings()
    assert settings.host == "127.0.0.1"


@pytest.mark.nodb
def test_configuration_doc_lists_every_setting() -> None:
    """docs/configuration.md is generated (`make docs`); it must match the code."""
    from pathlib import Path

    doc = Path(__file__).parents[1] / "docs" / "configuration.md"
    assert doc.read_text(encoding="utf-8") == render(), "run `make docs`"
