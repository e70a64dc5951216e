"""No password, token or patient name in a log line (SECURITY.md U5)."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from fastapi.testclient import TestClient

from hounsfield.logging import configure
from tests.conftest import TEST_PASSWORD


def test_logs_carry_no_secrets(
    client: TestClient, make_user: Any, capfd: pytest.CaptureFixture[str]
) -> None:
    configure("DEBUG", json_output=True)
    try:
        user = make_user("doctor")
        client.post("/api/auth/login", json={"username": user.username, "password": "Wr0ng-Canary"})
        ok = client.post(
            "/api/auth/login", json={"username": user.username, "password": TEST_PASSWORD}
        )
        token = ok.json()["access_token"]
        refresh = ok.json()["refresh_token"]
        client.get("/api/auth/me", headers={"Authorization": f"Bearer {token}"})
        logging.getLogger("hounsfield.test").info(
            "probe", extra={"password": "leak1", "authorization": f"Bearer {token}"}
        )
        logging.getLogger("hounsfield.test").warning("header was Bearer %s", token)
    finally:
        logging.getLogger().handlers[:] = []
    output = capfd.readouterr().err
    assert '"route": "/api/auth/login"' in output
    for secret in ("Wr0ng-Canary", TEST_PASSWORD, token, refresh, "leak1"):
        assert secret not in output
