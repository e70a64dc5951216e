"""The deployment files parse and name only settings that exist (compose is not run here)."""

from __future__ import annotations

import json
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


def _unexported(text: str) -> tuple[set[str], set[str]]:
    """The metric names `text` uses, and those of them the code does not define."""
    named = set(re.findall(r"\b(hounsfield_[a-z_]+?)(?:_bucket|_total)?\b", text))
    code = "\n".join(p.read_text() for p in (DEPLOY.parent / "src/hounsfield").rglob("*.py"))
    missing = {
        name for name in named
        if f'"{name}' not in code and f'"{name}_total' not in code
    }  # fmt: skip
    return named, missing


def test_every_metric_the_rules_name_is_exported_by_the_code() -> None:
    named, missing = _unexported((PROMETHEUS / "alerts.yml").read_text())
    assert len(named) >= 10
    assert missing == set()


def test_grafana_dashboards_are_provisioned_and_chart_only_exported_metrics() -> None:
    dashboards = sorted((DEPLOY / "grafana/dashboards").glob("*.json"))
    assert [p.stem for p in dashboards] == ["ai", "api", "archive"]
    provider = yaml.safe_load(
        (DEPLOY / "grafana/provisioning/dashboards/hounsfield.yml").read_text()
    )
    compose = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    mounts = compose["services"]["grafana"]["volumes"]
    assert f"./grafana/dashboards:{provider['providers'][0]['options']['path']}:ro" in mounts
    uids = set()
    for path in dashboards:
        board = json.loads(path.read_text())
        uids.add(board["uid"])
        exprs = [t["expr"] for panel in board["panels"] for t in panel["targets"]]
        assert len(exprs) >= len(board["panels"]) >= 4, path.name
        named, missing = _unexported("\n".join(exprs))
        assert named, path.name
        assert missing == set(), path.name
    assert len(uids) == len(dashboards)
