"""Structured logs (OBS-3): one JSON object per line on stdout, each with the request id and client.

structlog's contextvars carry ``request_id``, ``client`` and ``user`` from the middleware (or a
Celery task / websocket consumer) into every line logged while handling that unit of work, from
structlog loggers and from the standard library alike.
"""

from __future__ import annotations

import logging
import logging.config
import re
import uuid
from collections.abc import Callable
from typing import Any

import structlog
from django.http import HttpRequest, HttpResponse

_REQUEST_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")

# Attributes libraries stamp on every log record for their own bookkeeping, not a fact about the event:
# litellm marks each record it has scrubbed of secrets with an opaque object.
_LIBRARY_MARKERS = ("litellm_redacted",)


def _drop_library_markers(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    for name in _LIBRARY_MARKERS:
        event.pop(name, None)
    return event


# PostgreSQL repeats the values it refused: "Failing row contains (…ticket text…)", "Key (email)=(jane@…)", the
# statement with its literals ("LINE 1: SELECT 'secret'…" and the caret under it), "invalid input syntax for type
# uuid: "…"". Logs are read by more people than the data: the value becomes [redacted], the reason stays.
_DATABASE_VALUES = [
    (re.compile(r"(DETAIL:\s+Failing row contains )\(.*?\)(\.?)(?=\\n|\n|$)", re.DOTALL), r"\1([redacted])\2"),
    (
        re.compile(r"(DETAIL:\s+Key \([^)]*\)=)\(.*?\)( (?:already exists|is not present|conflicts))"),
        r"\1([redacted])\2",
    ),
    (re.compile(r"(LINE \d+: ).*?(?=\\n|\n|$)"), r"\1[statement redacted]"),
    (re.compile(r"(?m)^\s*\^\s*$"), ""),
    (
        re.compile(r'((?:invalid input (?:syntax|value) for (?:type )?[\w ]+|value out of range[\w ]*): )".*?"'),
        r'\1"[redacted]"',
    ),
]


def _redact_database_values(logger: Any, method: str, event: dict[str, Any]) -> dict[str, Any]:
    for key in ("event", "exception"):
        text = event.get(key)
        if isinstance(text, str) and (
            "DETAIL:" in text or "LINE " in text or "invalid input" in text or "out of range" in text
        ):
            for pattern, replacement in _DATABASE_VALUES:
                text = pattern.sub(replacement, text)
            event[key] = text
    return event


_SHARED_PROCESSORS: list[Any] = [
    structlog.contextvars.merge_contextvars,
    structlog.stdlib.add_log_level,
    structlog.stdlib.add_logger_name,
    structlog.processors.TimeStamper(fmt="iso", utc=True),
    structlog.stdlib.ExtraAdder(),
    _drop_library_markers,
]


def build_logging_config(level: str, fmt: str) -> dict[str, Any]:
    """Configure structlog and return the stdlib ``LOGGING`` dict routing everything through it."""
    renderer: Any = (
        structlog.processors.JSONRenderer() if fmt == "json" else structlog.dev.ConsoleRenderer(colors=False)
    )
    structlog.configure(
        processors=[*_SHARED_PROCESSORS, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    config: dict[str, Any] = {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {
            "structured": {
                "()": structlog.stdlib.ProcessorFormatter,
                "foreign_pre_chain": _SHARED_PROCESSORS,
                "processors": [
                    structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                    structlog.processors.format_exc_info,
                    _redact_database_values,
                    renderer,
                ],
            }
        },
        "handlers": {
            "stdout": {"class": "logging.StreamHandler", "stream": "ext://sys.stdout", "formatter": "structured"}
        },
        "root": {"handlers": ["stdout"], "level": level},
        "loggers": {
            "django.db.backends": {"level": "WARNING"},
            "django.server": {"level": "WARNING"},
            "uvicorn.access": {"level": "WARNING"},
            "pgserver": {"level": "WARNING"},
        },
    }
    logging.config.dictConfig(config)
    return config


class RequestContextMiddleware:
    """Binds ``request_id`` (honouring a sane incoming ``X-Request-ID``) and, once known, the client.

    The client is bound lazily by ``bind_client`` after tenant resolution; the request id is echoed
    back in the ``X-Request-ID`` response header so a user can quote it in a bug report.
    """

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        incoming = request.headers.get("X-Request-ID", "")
        request_id = incoming if _REQUEST_ID.match(incoming) else uuid.uuid4().hex
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id, client=None, path=request.path)
        request.request_id = request_id  # type: ignore[attr-defined]
        try:
            response = self.get_response(request)
        finally:
            tenant = getattr(request, "tenant", None)
            structlog.contextvars.bind_contextvars(client=getattr(tenant, "schema_name", None))
        response["X-Request-ID"] = request_id
        user = getattr(request, "user", None)
        structlog.get_logger("gaby.request").info(
            "request",
            method=request.method,
            status=response.status_code,
            user=user.pk if user is not None and user.is_authenticated else None,
        )
        structlog.contextvars.clear_contextvars()
        return response


def bind_client(schema_name: str | None) -> None:
    structlog.contextvars.bind_contextvars(client=schema_name)
