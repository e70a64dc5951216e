"""/docs and /redoc served with their scripts from this server, never from a CDN.

A hospital intranet has no Internet: FastAPI's default pages load Swagger UI and ReDoc from
a CDN and stay blank there. The assets come from the `fastapi-offline` wheel (Swagger UI 5,
which renders OpenAPI 3.1, and ReDoc), served at /docs/assets/<name>.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

from fastapi import FastAPI
from fastapi.openapi.docs import (
    get_redoc_html,
    get_swagger_ui_html,
    get_swagger_ui_oauth2_redirect_html,
)
from starlette.requests import Request
from starlette.responses import FileResponse, HTMLResponse, Response

ASSETS_URL = "/docs/assets"
_MEDIA_TYPES = {
    "swagger-ui-bundle.js": "text/javascript; charset=utf-8",
    "swagger-ui.css": "text/css; charset=utf-8",
    "redoc.standalone.js": "text/javascript; charset=utf-8",
    "favicon.png": "image/png",
}


def _assets_dir() -> Path:
    return Path(str(files("fastapi_offline") / "static"))


def install(app: FastAPI, openapi_url: str) -> None:
    """Add /docs, /docs/oauth2-redirect, /redoc and their assets to `app`."""
    title = f"{app.title} API"
    redirect_url = "/docs/oauth2-redirect"

    async def swagger(_request: Request) -> HTMLResponse:
        return get_swagger_ui_html(
            openapi_url=openapi_url,
            title=title,
            oauth2_redirect_url=redirect_url,
            swagger_js_url=f"{ASSETS_URL}/swagger-ui-bundle.js",
            swagger_css_url=f"{ASSETS_URL}/swagger-ui.css",
            swagger_favicon_url=f"{ASSETS_URL}/favicon.png",
        )

    async def redirect(_request: Request) -> HTMLResponse:
        return get_swagger_ui_oauth2_redirect_html()

    async def redoc(_request: Request) -> HTMLResponse:
        return get_redoc_html(
            openapi_url=openapi_url,
            title=title,
            redoc_js_url=f"{ASSETS_URL}/redoc.standalone.js",
            redoc_favicon_url=f"{ASSETS_URL}/favicon.png",
            with_google_fonts=False,
        )

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        media_type = _MEDIA_TYPES.get(name)  # a fixed list: no path from the request is opened
        if media_type is None:
            return Response(status_code=404)
        headers = {"Cache-Control": "public, max-age=86400"}
        return FileResponse(_assets_dir() / name, media_type=media_type, headers=headers)

    app.add_route("/docs", swagger, include_in_schema=False)
    app.add_route(redirect_url, redirect, include_in_schema=False)
    app.add_route("/redoc", redoc, include_in_schema=False)
    app.add_route(f"{ASSETS_URL}/{{name}}", asset, include_in_schema=False)
