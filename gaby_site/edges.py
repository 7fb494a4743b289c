"""Bounds for what arrives at Gaby's edges (webhooks, the API, help-desk payloads), in one place.

A value the database or Python can store but nobody can use takes pages down later: a year-1 date with a
+05:00 offset was stored as 1 BC, and every inbox page and ``GET /api/v1/tickets`` answered 500 for everyone.
An edge refuses such a value with a message that says what to send instead; the payload is kept in quarantine.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Annotated

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
