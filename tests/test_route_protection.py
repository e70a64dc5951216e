"""Deny by default (SECURITY.md A4): every route is protected or explicitly public."""

from __future__ import annotations

import re
from typing import Any

from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient

from hounsfield.auth.deps import _authenticate, public

# Routes that answer without a token, on purpose.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
}


def _calls(dependant: Dependant) -> list[Any]:
    found = [dependant.call]
    for sub in dependant.dependencies:
        found.extend(_calls(sub))
    return found


def _api_routes(app: Any) -> list[APIRoute]:
    """Every APIRoute, including those of included routers (FastAPI ≥ 0.16x includes lazily)."""
    found: list[APIRoute] = []
    for route in app.routes:
        if hasattr(route, "effective_route_contexts"):
            found.extend(
                c.original_route
                for c in route.effective_route_contexts()
                if isinstance(c.original_route, APIRoute)
            )
        elif isinstance(route, APIRoute):
            found.append(route)
    return found


def _kind(route: APIRoute) -> str:
    calls = _calls(route.dependant)
    if public in calls:
        return "public"
    if any(hasattr(c, "__hounsfield_permission__") for c in calls):
        return "permission"
    if _authenticate in calls:
        return "authenticated"
    return "unprotected"


def test_every_route_declares_its_protection(app: Any) -> None:
    routes = _api_routes(app)
    assert len(routes) > 10
    unprotected = [f"{sorted(r.methods)} {r.path}" for r in routes if _kind(r) == "unprotected"]
    assert unprotected == []
    declared_public = {
        (method, r.path) for r in routes if _kind(r) == "public" for method in r.methods
    }
    assert declared_public <= PUBLIC, declared_public - PUBLIC


def test_every_protected_route_refuses_a_request_without_token(
    app: Any, client: TestClient
) -> None:
    for route in _api_routes(app):
        if _kind(route) == "public":
            continue
        path = re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", route.path)
        for method in route.methods:
            response = client.request(method, path, json={})
            assert response.status_code == 401, f"{method} {route.path}"
            if method != "HEAD":  # a HEAD response has no body
                assert response.json()["error"]["code"] == "not_authenticated"
