"""Deny by default (SECURITY.md A4): every route is protected or explicitly public; the role
matrix (A5) generated from the permission catalogue: a role without a route's permission
gets 403 on every route, a role with it never does."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from fastapi.dependencies.models import Dependant
from fastapi.routing import APIRoute
from fastapi.testclient import TestClient
from starlette.routing import Route

from hounsfield.auth.deps import _authenticate, public
from hounsfield.users.permissions import BUILTIN_ROLES, Permission

# Routes that answer without a token, on purpose.
PUBLIC = {
    ("GET", "/healthz"),
    ("GET", "/readyz"),
    ("GET", "/metrics"),
    ("POST", "/api/auth/login"),
    ("POST", "/api/auth/refresh"),
}
# FastAPI's own pages: public in embedded mode on purpose, not served in production
# (tests/security/test_http_edge.py checks that side).
DOCS = {"/openapi.json", "/docs", "/docs/oauth2-redirect", "/redoc", "/docs/assets/{name}"}


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


def test_every_other_route_is_a_documented_docs_page(app: Any) -> None:
    """Routes outside the API routers (no dependencies to inspect) are only the docs."""
    others = {r.path for r in app.routes if isinstance(r, Route) and not isinstance(r, APIRoute)}
    assert others == DOCS
    for path in DOCS - {"/docs/oauth2-redirect", "/docs/assets/{name}"}:
        assert TestClient(app).get(path).status_code == 200, path


def test_no_docs_routes_when_they_are_not_exposed(settings_env: Callable[..., None]) -> None:
    settings_env(HOUNSFIELD_HTTP__EXPOSE_DOCS="false")
    from hounsfield.app import create_app

    app = create_app()
    others = {r.path for r in app.routes if isinstance(r, Route) and not isinstance(r, APIRoute)}
    assert others == set()
    client = TestClient(app)
    for path in DOCS:
        assert client.get(path).status_code == 404, path


def _permissions(route: APIRoute) -> set[Permission]:
    return {
        c.__hounsfield_permission__
        for c in _calls(route.dependant)
        if hasattr(c, "__hounsfield_permission__")
    }


def _concrete(path: str) -> str:
    return re.sub(r"\{[^}]+\}", "00000000-0000-0000-0000-000000000000", path)


@pytest.mark.parametrize("role", sorted(BUILTIN_ROLES))
def test_the_role_matrix_holds_on_every_route(
    role: str, app: Any, client: TestClient, auth_headers: Callable[..., dict[str, str]]
) -> None:
    granted = BUILTIN_ROLES[role][1]
    headers = auth_headers(role)
    checked = 0
    for route in _api_routes(app):
        needed = _permissions(route)
        if not needed:
            continue
        for method in route.methods - {"HEAD"}:
            response = client.request(method, _concrete(route.path), json={}, headers=headers)
            where = f"{role}: {method} {route.path} needs {sorted(needed)}"
            if needed <= granted:
                assert response.status_code != 403, where
            else:
                assert response.status_code == 403, where
                assert response.json()["error"]["code"] == "permission_denied", where
            checked += 1
    assert checked > 20


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
