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
        # Raised without a message of its own: the catalogue may say it in Chinese.
        self.default_message = not message
        self.details = details
        self.headers = headers
        if english is not None:
            self.english = english

    def message_for(self, accept_language: str | None) -> str:
        """The message in the client's language (domains with zh-CN texts override this):
        `english` when the client prefers English and the error has one."""
        from hounsfield.ingest.outcome import language

        if language(accept_language) == "en":
            return self.english or str(self)
        if self.default_message and self.code in CHINESE:
            return CHINESE[self.code]
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


# zh-CN sentences of the errors whose class text is English, by code: a client that does not
# prefer English reads these (the class docstring stays the English text).
CHINESE: dict[str, str] = {
    "internal_error": "服务器内部错误。",
    "bad_request": "请求格式有误。",
    "not_authenticated": "请先登录。",
    "permission_denied": "您没有执行此操作的权限。",
    "not_found": "未找到。",
    "conflict": "请求与当前状态冲突。",
    "payload_too_large": "请求内容过大。",
    "unprocessable": "请求无法处理。",
    "too_many_requests": "请求过于频繁，请稍后再试。",
    "service_unavailable": "服务暂时不可用，请稍后再试。",
    "validation_error": "输入有误，请检查后重试。",
    "method_not_allowed": "不支持该请求方法。",
    "not_acceptable": "无法提供所请求的格式。",
    "unsupported_media_type": "不支持该内容类型。",
    "invalid_credentials": "用户名或密码错误。",
    "account_locked": "登录失败次数过多，账户已暂时锁定。",
    "session_expired": "会话已结束，请重新登录。",
    "password_rejected": "新密码不符合密码策略。",  # nosec B105: a message
    "user_not_found": "用户不存在。",
    "role_not_found": "角色不存在。",
    "unknown_roles": "所选角色不存在。",
    "unknown_groups": "所选科室组不存在。",
    "duplicate_name": "该名称已被使用。",
    "builtin_role": "内置角色不能修改或删除。",
    "last_admin": "这是最后一个有效的管理员，不能停用或取消其管理员角色。",
    "api_key_not_found": "API 密钥不存在。",
    "patient_merged": "该患者已合并到其他患者，撤销合并即可恢复。",
}


def _says(code: str, english: str, accept_language: str | None) -> str:
    """`english`, or the code's Chinese sentence unless the client prefers English."""
    from hounsfield.ingest.outcome import language

    if language(accept_language) == "en" or code not in CHINESE:
        return english
    return CHINESE[code]


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
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [
            {"loc": list(e.get("loc", ())), "msg": e.get("msg", ""), "type": e.get("type", "")}
            for e in exc.errors()
        ]
        english = "The request is not valid."
        message = _says("validation_error", english, request.headers.get("accept-language"))
        body = error_body("validation_error", message, {"errors": errors})
        return JSONResponse(body, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = _HTTP_CODES.get(exc.status_code, "http_error")
        message = _says(code, str(exc.detail), request.headers.get("accept-language"))
        return JSONResponse(
            error_body(code, message),
            status_code=exc.status_code,
            headers=getattr(exc, "headers", None),
        )
