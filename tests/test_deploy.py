"""The deployment files parse and name only settings that exist (compose is not run here)."""

from __future__ import annotations

import re
import subprocess
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
    for secret in ("HOUNSFIELD_SECRET_KEY", "HOUNSFIELD_DEIDENTIFICATION_KEY",
                   "HOUNSFIELD_API_KEY_SECRET"):  # fmt: skip
        assert ":?" in api_env[secret]  # compose refuses to start without it


PROMETHEUS = DEPLOY / "prometheus"


def _run(*command: str) -> str:
    done = subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stdout + done.stderr
    return done.stdout


def test_alert_rules_check_and_pass_their_unit_tests() -> None:
    assert "SUCCESS: 13 rules found" in _run(
        "promtool", "check", "rules", str(PROMETHEUS / "alerts.yml")
    )
    assert "SUCCESS" in _run("promtool", "test", "rules", str(PROMETHEUS / "tests/alerts_test.yml"))
    _run("promtool", "check", "config", "--syntax-only", str(PROMETHEUS / "prometheus.yml"))


def test_alertmanager_config_checks() -> None:
    out = _run("amtool", "check-config", str(PROMETHEUS / "alertmanager.yml"))
    assert "SUCCESS" in out
    config = yaml.safe_load((PROMETHEUS / "alertmanager.yml").read_text())
    (receiver,) = config["receivers"]
    assert receiver["email_configs"]
    assert receiver["webhook_configs"][0]["url"].endswith("/api/notifications/alerts")


def test_every_metric_the_rules_name_is_exported_by_the_code() -> None:
    rules = (PROMETHEUS / "alerts.yml").read_text()
    named = set(re.findall(r"\b(hounsfield_[a-z_]+?)(?:_bucket|_total)?\b", rules))
    code = "\n".join(p.read_text() for p in (DEPLOY.parent / "src/hounsfield").rglob("*.py"))
    missing = {
        name for name in named
        if f'"{name}' not in code and f'"{name}_total' not in code
    }  # fmt: skip
    assert len(named) >= 10
    assert missing == set()
