"""Health (/healthz), readiness (/readyz) and Prometheus metrics (/metrics)."""

from __future__ import annotations

import hmac
import os

from fastapi import APIRouter, Request, Response
from fastapi.responses import JSONResponse
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import text

from hounsfield.auth.deps import Public
from hounsfield.config import get_settings
from hounsfield.db import get_engine
from hounsfield.errors import NotFound
from hounsfield.kv import get_store
from hounsfield.monitoring import collectors, multiproc

router = APIRouter(tags=["monitoring"])
collectors.register()


@router.get("/healthz", dependencies=[Public])
def healthz() -> dict[str, str]:
    """Liveness: the process answers."""
    return {"status": "ok"}


def _check_database() -> str | None:
    try:
        with get_engine().connect() as conn:
            conn.execute(text("SELECT 1"))
    except Exception as exc:
        return f"database unreachable ({type(exc).__name__})"
    return None


def _check_data_dir() -> str | None:
    data_dir = get_settings().data_dir
    if not data_dir.is_dir() or not os.access(data_dir, os.W_OK):
        return "data directory missing or not writable"
    return None


def _check_redis() -> str | None:
    if get_settings().redis_url and not get_store().ping():
        return "redis unreachable"
    return None


READINESS_CHECKS = {"database": _check_database, "storage": _check_data_dir, "redis": _check_redis}


@router.get("/readyz", dependencies=[Public])
def readyz() -> JSONResponse:
    """Readiness: database, data directory and (when configured) Redis all answer."""
    checks = READINESS_CHECKS
    failures = {name: problem for name, check in checks.items() if (problem := check())}
    if failures:
        body = {
            "error": {
                "code": "not_ready",
                "message": "Not ready: " + ", ".join(sorted(failures)),
                "details": failures,
            }
        }
        return JSONResponse(body, status_code=503)
    return JSONResponse({"status": "ready", "checks": dict.fromkeys(checks, "ok")})


def _metrics_allowed(request: Request) -> bool:
    """Open in embedded mode; in production only with the configured bearer token."""
    settings = get_settings()
    if settings.mode != "production":
        return True
    token = settings.http.metrics_token
    if token is None:
        return False
    presented = request.headers.get("authorization", "")
    expected = "Bearer " + token.get_secret_value()
    return hmac.compare_digest(presented.encode(), expected.encode())


@router.get("/metrics", dependencies=[Public])
def metrics(request: Request) -> Response:
    """Prometheus metrics (request counts and latency by route template and status).
    Public in embedded mode; in production it needs `HOUNSFIELD_HTTP__METRICS_TOKEN`."""
    if not _metrics_allowed(request):
        raise NotFound()
    if not multiproc.shared():
        return Response(generate_latest(), media_type=CONTENT_TYPE_LATEST)
    registry = CollectorRegistry()
    MultiProcessCollector(registry)  # type: ignore[no-untyped-call]  # the counters and histograms of every process
    registry.register(collectors.StateCollector())  # computed now, from shared state
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
