"""The deployment files parse and name only settings that exist (compose is not run here)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from hounsfield.settings_doc import render

pytestmark = pytest.mark.nodb
DEPLOY = Path(__file__).parents[1] / "deploy"


def test_compose_and_prometheus_files_parse() -> None:
    for path in [*DEPLOY.glob("*.yml"), *DEPLOY.glob("*/*.yml")]:
        assert yaml.safe_load(path.read_text()) is not None, path


def test_compose_sets_only_documented_settings() -> None:
    compose = (DEPLOY / "docker-compose.yml").read_text()
    used = set(re.findall(r"\b(HOUNSFIELD_[A-Z0-9_]+):", compose))
    documented = set(re.findall(r"`(HOUNSFIELD_[A-Z0-9_]+)`", render()))
    assert used
    assert used <= documented, sorted(used - documented)


def test_compose_has_no_default_secrets() -> None:
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    api_env = compose["x-app"]["environment"]
    assert api_env["HOUNSFIELD_MODE"] == "production"
    for secret in ("HOUNSFIELD_SECRET_KEY", "HOUNSFIELD_DEIDENTIFICATION_KEY"):
        assert ":?" in api_env[secret]  # compose refuses to start without it
