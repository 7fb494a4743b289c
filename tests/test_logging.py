"""OBS-3: every request logs one JSON line with its request id and client."""

import json
import logging
import sys
from typing import Any

import pytest


def _render(record: logging.LogRecord) -> dict[str, Any]:
    handler = logging.getLogger().handlers[0]
    assert handler.formatter is not None
    return json.loads(handler.formatter.format(record))  # type: ignore[no-any-return]


def test_request_line_carries_request_id_and_client(as_user: Any, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.INFO, logger="gaby.request"):
        response = as_user("alice", "hartwell").get("/inbox/", HTTP_X_REQUEST_ID="trace-123")
    assert response["X-Request-ID"] == "trace-123"
    lines = [_render(r) for r in caplog.records if r.name == "gaby.request"]
    assert lines[-1]["request_id"] == "trace-123"
    assert lines[-1]["client"] == "hartwell"
    assert lines[-1]["status"] == 200 and lines[-1]["path"] == "/inbox/"
    assert lines[-1]["level"] == "info" and "timestamp" in lines[-1]


def test_untrusted_request_ids_are_replaced(as_user: Any) -> None:
    response = as_user("alice", "hartwell").get("/inbox/", HTTP_X_REQUEST_ID="bad id\nwith newline")
    assert response["X-Request-ID"] != "bad id\nwith newline" and len(response["X-Request-ID"]) == 32


def test_a_library_record_is_rendered_without_its_bookkeeping_markers() -> None:
    """litellm stamps every record it scrubbed with an opaque object; a log line carries the event, not that."""
    record = logging.LogRecord("uvicorn.error", logging.INFO, __file__, 1, "Uvicorn running on %s", ("x",), None)
    record.litellm_redacted = object()  # as litellm's record filter leaves it
    line = _render(record)
    assert line["event"] == "Uvicorn running on x" and "litellm_redacted" not in line


def test_a_database_error_is_logged_without_the_values_it_refused(db: None) -> None:
    """PostgreSQL quotes the refused value and the statement in its error; logs must not carry ticket text."""
    from django.db import DataError, connection, transaction

    secret = "Jane's salary is 91,000 and her SSN is 078-05-1120"
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SELECT %s::uuid", [secret])
    except DataError:
        record = logging.LogRecord(
            "django.request", logging.ERROR, __file__, 1, "Internal Server Error", None, sys.exc_info()
        )
    formatter = logging.getLogger().handlers[0].formatter
    assert formatter is not None
    line = formatter.format(record)
    assert "invalid input syntax for type uuid" in line and "DataError" in line  # the reason stays
    assert "salary" not in line and "078-05-1120" not in line and "[redacted]" in line
