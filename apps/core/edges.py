"""Bounds for what arrives at Gaby's edges (webhooks, the API, help-desk payloads, URLs), in one place.

A value the database or Python can store but nobody can use takes pages down later: a year-1 date with a
+05:00 offset was stored as 1 BC, and every inbox page and ``GET /api/v1/tickets`` answered 500 for everyone.
An edge refuses such a value with a message that says what to send instead; the payload is kept in quarantine.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Annotated, Any, Literal

from django.http import HttpRequest, HttpResponse, JsonResponse
from pydantic import AfterValidator

EARLIEST_YEAR = 1970
LATEST_YEAR = 2200
MAX_OFFSET = timedelta(hours=14)  # UTC-12:00 .. UTC+14:00 are the offsets in use on Earth


def bounded_datetime(value: datetime) -> datetime:
    """The value when it is a time zone aware date between 1970 and 2200, else ValueError saying what to send."""
    offset = value.utcoffset()
    if offset is None:
        raise ValueError("give a time zone (ISO 8601 with Z or an offset such as +02:00)")
    if abs(offset) > MAX_OFFSET:
        raise ValueError(f"the UTC offset {value.isoformat()[19:]} is out of range: use one between -12:00 and +14:00")
    if not EARLIEST_YEAR <= value.year <= LATEST_YEAR:
        raise ValueError(f"the date must be between {EARLIEST_YEAR} and {LATEST_YEAR} (got year {value.year})")
    return value


EdgeDatetime = Annotated[datetime, AfterValidator(bounded_datetime)]


MAX_JSON_DEPTH = 64  # no ticket, webhook or API body nests deeper; 100,000 levels took a worker's stack down
NUL = "\x00"


class EdgeError(ValueError):
    """A value refused at the edge; the message says what to send instead."""


def _strip_nul(value: Any) -> Any:
    if isinstance(value, str):
        return value.replace(NUL, "")
    if isinstance(value, list):
        return [_strip_nul(item) for item in value]
    if isinstance(value, dict):
        return {_strip_nul(key): _strip_nul(item) for key, item in value.items()}
    return value


def _depth_exceeds(text: str, limit: int) -> bool:
    """Whether brackets nest deeper than ``limit`` outside strings: checked before parsing, so a hostile body
    never reaches the recursive parser."""
    depth, in_string, escaped = 0, False, False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return True
        elif char in "]}":
            depth -= 1
    return False


def load_json(body: bytes | str, *, nul: Literal["reject", "strip"] = "reject") -> Any:
    """A JSON body parsed with the edge's bounds: UTF-8, at most ``MAX_JSON_DEPTH`` levels deep, and no NUL
    character in any string (PostgreSQL text cannot hold one): refused with a message, or stripped for payloads
    a vendor sends that nobody can correct."""
    try:
        text = body.decode("utf-8") if isinstance(body, bytes) else body
    except UnicodeDecodeError as exc:
        raise EdgeError(
            f"The body is not UTF-8 ({exc.reason} at byte {exc.start}): send JSON encoded as UTF-8."
        ) from exc
    if _depth_exceeds(text, MAX_JSON_DEPTH):
        raise EdgeError(f"The JSON nests deeper than {MAX_JSON_DEPTH} levels: send a flatter document.")
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise EdgeError(f"The body is not valid JSON: {exc}") from exc
    if nul == "strip":
        return _strip_nul(data)
    if (NUL in text or "\\u0000" in text.lower()) and _strip_nul(data) != data:
        raise EdgeError("A value holds a NUL character (\\u0000), which Gaby cannot store: remove it.")
    return data


def nul_in_query(query: Mapping[str, Any]) -> str:
    """The first query parameter whose name or value holds a NUL character, or ""."""
    for key, values in getattr(query, "lists", lambda: [(k, [v]) for k, v in query.items()])():
        if NUL in key or any(NUL in str(value) for value in values):
            return key.replace(NUL, "\\x00")
    return ""


class EdgeMiddleware:
    """Refuses a NUL character in the URL's path or query before any view reads it (PostgreSQL text cannot hold
    one, and a search for it answered 500). Form fields already refuse NUL (Django's CharField); JSON bodies are
    bounded by ``load_json``."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        where = "the path" if NUL in request.path else ""
        name = nul_in_query(request.GET)
        if name:
            where = f"the query parameter {name!r}"
        if where:
            detail = f"{where[0].upper()}{where[1:]} holds a NUL character (%00), which Gaby refuses: remove it."
            return JsonResponse({"detail": detail}, status=400)
        return self.get_response(request)


def int_param(query: Mapping[str, Any], name: str, *, default: int, low: int, high: int) -> int:
    """An integer query parameter of a page, clamped to ``[low, high]``; ``default`` when absent or not a number
    (a page filter is forgiving; a year-long ``days=10**9`` overflowed the date arithmetic)."""
    try:
        value = int(str(query.get(name) or default))
    except ValueError:
        return default
    return max(low, min(high, value))
