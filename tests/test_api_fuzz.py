"""Generated requests from the OpenAPI schema never produce a 5xx (SECURITY.md I10)."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error

from hounsfield.app import create_app


@asynccontextmanager
async def _no_lifespan(_app: Any) -> AsyncIterator[None]:
    yield


# Built at import, before the fixtures choose the database: no lifespan (no background
# threads), and loading the schema touches no database.
_app = create_app()
_app.router.lifespan_context = _no_lifespan
schema = schemathesis.openapi.from_asgi("/openapi.json", _app)


# Examples per operation (was 10): about 60 ms each, 66 operations, on three databases in
# CI; the admin (every route reachable) gets the most. 60 each passed by hand in 7 min;
# HOUNSFIELD_FUZZ_EXAMPLES=200 for a longer hunt.
EXAMPLES = int(os.environ.get("HOUNSFIELD_FUZZ_EXAMPLES", "25"))
DEEP = settings(
    max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck),
    derandomize=True,
)  # fmt: skip
BOUNDED = settings(DEEP, max_examples=max(10, EXAMPLES // 3))


@pytest.fixture
def admin_headers(auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers("admin"))


@pytest.fixture
def nurse_headers(auth_headers: Any) -> dict[str, str]:
    return dict(auth_headers("nurse"))


@schema.parametrize()
@DEEP
def test_no_server_errors_as_admin(case: Any, admin_headers: dict[str, str]) -> None:
    case.validate_response(case.call(headers=admin_headers), checks=[not_a_server_error])


@schema.parametrize()
@BOUNDED
def test_no_server_errors_as_nurse(case: Any, nurse_headers: dict[str, str]) -> None:
    case.validate_response(case.call(headers=nurse_headers), checks=[not_a_server_error])
