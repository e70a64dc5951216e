"""create_app(): routers, error handlers, middleware and the process lifecycle."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from hounsfield import __version__, apidocs, processes
from hounsfield.ai import router as ai_router
from hounsfield.audit import router as audit_router
from hounsfield.audit.service import sealer
from hounsfield.auth import router as auth_router
from hounsfield.config import get_settings
from hounsfield.db import load_models, transaction
from hounsfield.dicomweb import export as dicomweb_export
from hounsfield.dicomweb import router as dicomweb_router
from hounsfield.dimse import router as dimse_router
from hounsfield.dimse import scp as dicom_scp
from hounsfield.errors import install_handlers
from hounsfield.hl7 import listener as hl7_listener
from hounsfield.hl7 import router as hl7_router
from hounsfield.ingest import router as ingest_router
from hounsfield.measurements import router as measurements_router
from hounsfield.monitoring import router as monitoring_router
from hounsfield.monitoring import status as system_status
from hounsfield.monitoring.edge import RateLimitMiddleware, SecurityHeadersMiddleware
from hounsfield.monitoring.middleware import RequestContextMiddleware
from hounsfield.notifications import router as notifications_router
from hounsfield.orders import router as orders_router
from hounsfield.patients import router as patients_router
from hounsfield.reports import critical_router, peer_review_router, phrases_router
from hounsfield.reports import router as reports_router
from hounsfield.schedule import scheduler
from hounsfield.statistics import router as statistics_router
from hounsfield.studies import router as studies_router
from hounsfield.users import router as users_router
from hounsfield.users import service as users_service
from hounsfield.webui import install as install_webui
from hounsfield.worker import requeuer, shutdown_local_pool
from hounsfield.worklist import router as worklist_router


@asynccontextmanager
async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
    _refuse_unsafe_production()
    sealer.start()
    requeuer.start()
    # Production runs `hounsfield beat` instead; of several embedded processes, one leads.
    if not get_settings().redis_url and processes.leads():
        scheduler.start()
    dicom_scp.start_embedded()  # the DICOM listener, in embedded mode only
    hl7_listener.start_embedded()  # the HL7 listener, in embedded mode when a port is set
    try:
        yield
    finally:
        hl7_listener.stop_embedded()
        dicom_scp.stop_embedded()  # in-flight associations finish first
        scheduler.stop()
        requeuer.stop()
        shutdown_local_pool(wait=True)
        sealer.stop()


def _refuse_unsafe_production() -> None:
    if get_settings().mode != "production":
        return
    with transaction() as session:
        if users_service.demo_accounts_exist(session):
            raise RuntimeError("production mode refuses to start while demo accounts exist")


def create_app() -> FastAPI:
    settings = get_settings()
    load_models()  # before the lifespan's threads (sealer, listeners) query anything
    # The API description is public on purpose in embedded mode (a workstation on one
    # machine); production serves none of it (SECURITY A4, issue 14.16).
    docs = settings.http.expose_docs
    if docs is None:
        docs = settings.mode == "embedded"
    app = FastAPI(
        title="Hounsfield",
        version=__version__,
        description="Medical imaging platform: DICOM archive, reading workstation, AI.",
        lifespan=lifespan,
        docs_url=None,  # apidocs.install: the same pages, with local assets
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    if docs:
        apidocs.install(app, "/openapi.json")
    install_handlers(app)
    for module in (monitoring_router, auth_router, users_router, audit_router, dimse_router):
        app.include_router(module.router)
    app.include_router(auth_router.keys_router)
    app.include_router(system_status.router)
    app.include_router(studies_router.router)
    app.include_router(measurements_router.router)
    app.include_router(ingest_router.router)
    app.include_router(dicomweb_router.router)
    app.include_router(dicomweb_export.router)
    app.include_router(ai_router.router)
    app.include_router(notifications_router.router)
    app.include_router(patients_router.router)
    app.include_router(orders_router.router)
    app.include_router(hl7_router.router)
    app.include_router(worklist_router.router)
    app.include_router(statistics_router.router)
    app.include_router(reports_router.router)
    app.include_router(reports_router.templates_router)
    app.include_router(critical_router.router)
    app.include_router(phrases_router.router)
    app.include_router(peer_review_router.router)
    # Outermost last: the request context (id, client address, access log) wraps the
    # security headers, which wrap the rate limit, so a 429 is logged and has its headers.
    app.add_middleware(RateLimitMiddleware)
    app.add_middleware(SecurityHeadersMiddleware)
    app.add_middleware(RequestContextMiddleware, trusted_proxies=settings.trusted_proxies)
    install_webui(app, settings)  # last: serves web/out for paths no route claims
    return app
