"""Structured JSON logs with the request id; secrets and PHI never reach a log line."""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import MutableMapping
from typing import Any

import structlog

from hounsfield import context

# Keys whose values are never logged, whatever a caller passes.
_SECRET_KEYS = re.compile(
    r"pass(word)?|token|secret|authorization|cookie|patient_?name|birth|address|phone",
    re.IGNORECASE,
)
_BEARER = re.compile(r"(Bearer\s+)[A-Za-z0-9._~+/-]+=*", re.IGNORECASE)
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]{5,}\.[A-Za-z0-9_-]*")
# Values that database errors quote: SQLAlchemy's bound parameters (in case an engine is
# made without hide_parameters), PostgreSQL's "DETAIL: Key (col)=(value)", MySQL's
# "Duplicate entry 'value'" and "Incorrect string value: '...'".
_SQL_VALUES = [
    (re.compile(r"\[parameters: .*?\](?=\n|$)", re.DOTALL), "[parameters: [redacted]]"),
    (re.compile(r"(DETAIL:\s+Key \([^)]*\)=)\(.*?\)(?= already| is not|$)", re.M), r"\1(…)"),
    (re.compile(r"(DETAIL:\s+Failing row contains )\(.*\)"), r"\1(…)"),
    (re.compile(r"((?:Duplicate entry|string value:) )'.*?'(?= for|$)", re.M), r"\1'…'"),
]


def _add_context(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    rid = context.request_id.get()
    if rid:
        event.setdefault("request_id", rid)
    return event


def _redact(_: Any, __: str, event: MutableMapping[str, Any]) -> MutableMapping[str, Any]:
    for key in list(event):
        if key != "event" and _SECRET_KEYS.search(key):
            event[key] = "[redacted]"
        elif isinstance(event[key], str):
            event[key] = _scrub(event[key])
    return event


def _scrub(text: str) -> str:
    text = _JWT.sub("[jwt]", _BEARER.sub(r"\1[redacted]", text))
    for pattern, replacement in _SQL_VALUES:
        text = pattern.sub(replacement, text)
    return text


def configure(level: str = "INFO", json_output: bool = True) -> None:
    """Route stdlib and structlog records through one JSON renderer on stderr."""
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
        _add_context,
        structlog.processors.format_exc_info,
    ]
    renderer: Any = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_output
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            _redact,
            renderer,
        ],
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(formatter)
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    # SQLAlchemy's engine log (statements) is for debugging only, never in service logs.
    logging.getLogger("sqlalchemy").setLevel(logging.WARNING)
    for noisy in ("uvicorn.access",):
        logging.getLogger(noisy).handlers[:] = []
        logging.getLogger(noisy).propagate = False
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
