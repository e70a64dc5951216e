"""Domain errors and the one JSON error shape: {"error": {"code", "message", "details"}}."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException


class HounsfieldError(Exception):
    status_code = 500
    code = "internal_error"  # stable and machine-readable: the UI translates by it
    # The message in English where the default message is zh-CN; the handler answers with
    # it when Accept-Language prefers English.
    english: str | None = None

    def __init__(
        self,
        message: str = "",
        *,
        details: dict[str, Any] | None = None,
        headers: dict[str, str] | None = None,
        english: str | None = None,
    ) -> None:
        super().__init__(message or self.__class__.__doc__ or self.code)
        self.details = details
        self.headers = headers
        if english is not None:
            self.english = english

    def message_for(self, accept_language: str | None) -> str:
        """The message in the client's language (domains with zh-CN texts override this):
        `english` when the client prefers English and the error has one."""
        from hounsfield.ingest.outcome import language

        if self.english and language(accept_language) == "en":
            return self.english
        return str(self)


class BadRequest(HounsfieldError):
    """The request is malformed."""

    status_code = 400
    code = "bad_request"


class NotAuthenticated(HounsfieldError):
    """Authentication is required."""

    status_code = 401
    code = "not_authenticated"

    def __init__(self, message: str = "", **kwargs: Any) -> None:
        kwargs.setdefault("headers", {"WWW-Authenticate": "Bearer"})
        super().__init__(message, **kwargs)


class PermissionDenied(HounsfieldError):
    """You do not have the permission this needs."""

    status_code = 403
    code = "permission_denied"


class NotFound(HounsfieldError):
    """Not found."""

    status_code = 404
    code = "not_found"


class Conflict(HounsfieldError):
    """The request conflicts with the current state."""

    status_code = 409
    code = "conflict"


class PayloadTooLarge(HounsfieldError):
    """The request body is too large."""

    status_code = 413
    code = "payload_too_large"


class Unprocessable(HounsfieldError):
    """The request is well-formed but cannot be processed."""

    status_code = 422
    code = "unprocessable"


class TooManyRequests(HounsfieldError):
    """Too many requests; try again later."""

    status_code = 429
    code = "too_many_requests"


class ServiceUnavailable(HounsfieldError):
    """A service this needs is unavailable; try again later."""

    status_code = 503
    code = "service_unavailable"


def error_body(code: str, message: str, details: Any = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details}}


_HTTP_CODES = {
    400: "bad_request",
    401: "not_authenticated",
    403: "permission_denied",
    404: "not_found",
    405: "method_not_allowed",
    406: "not_acceptable",
    413: "payload_too_large",
    415: "unsupported_media_type",
}


def install_handlers(app: FastAPI) -> None:
    @app.exception_handler(HounsfieldError)
    async def _domain(request: Request, exc: HounsfieldError) -> JSONResponse:
        message = exc.message_for(request.headers.get("accept-language"))
        body = error_body(exc.code, message, exc.details)
        return JSONResponse(body, status_code=exc.status_code, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _validation(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        body = error_body("validation_error", "The request is not valid.", {"errors": errors})
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        return JSONResponse(
            error_body(code, str(exc.detail)),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
