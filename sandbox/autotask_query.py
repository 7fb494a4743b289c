"""Autotask's query grammar, as the stand-in reads it: a JSON ``filter`` and id-ordered pages of at most 500.

``POST /{Entity}/query`` takes ``{"filter": [...], "MaxRecords": n, "IncludeFields": [...]}`` (``GET
/{Entity}/query?search=<the same JSON>`` too). A filter is a list of conditions, all of which must hold: ``{"op":
"eq", "field": "companyID", "value": 174}`` with ``eq noteq gt gte lt lte beginsWith endsWith contains exist
notExist in notIn``, or a group ``{"op": "and" | "or", "items": [...]}``. Text compares without case (SQL Server's
collation); dates compare as instants. Results come in id order; ``pageDetails.nextPageUrl`` (a GET of
``/{Entity}/query/next`` carrying the search and the last id sent) fetches the next page. Anything else raises
``QueryError``, which the stand-in answers with 500 and Autotask's ``{"errors": [...]}`` as Autotask does.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

MAX_RECORDS = 500
COMPARE = {
    "eq": lambda a, b: a == b,
    "noteq": lambda a, b: a != b,
    "gt": lambda a, b: a is not None and a > b,
    "gte": lambda a, b: a is not None and a >= b,
    "lt": lambda a, b: a is not None and a < b,
    "lte": lambda a, b: a is not None and a <= b,
    "beginsWith": lambda a, b: isinstance(a, str) and a.startswith(b),
    "endsWith": lambda a, b: isinstance(a, str) and a.endswith(b),
    "contains": lambda a, b: isinstance(a, str) and b in a,
}


class QueryError(ValueError):
    """A query Autotask refuses; the message is what Autotask's ``errors`` would say."""


def _instant(value: str) -> datetime | None:
    try:
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _comparable(stored: Any, given: Any) -> tuple[Any, Any]:
    if isinstance(stored, str) and isinstance(given, str):
        left, right = _instant(stored), _instant(given)
        if left is not None and right is not None and "T" in given:
            return left, right
        return stored.lower(), given.lower()
    if isinstance(stored, bool) or isinstance(given, bool):
        return stored, given
    if isinstance(given, str) and given.lstrip("-").isdigit():
        given = int(given)  # Autotask takes "174" for an integer field
    return stored, given


def condition(item: Any, fields: set[str]) -> Callable[[dict[str, Any]], bool]:
    if not isinstance(item, dict) or not isinstance(item.get("op"), str):
        raise QueryError(f"Each filter item needs an op: {json.dumps(item)[:200]}")
    op = item["op"]
    if op in ("and", "or"):
        parts = [condition(sub, fields) for sub in item.get("items") or []]
        if not parts:
            raise QueryError(f"The {op} group needs items.")
        joined = all if op == "and" else any
        return lambda record: joined(part(record) for part in parts)
    if item.get("udf"):
        raise QueryError("User-defined fields are not in this stand-in.")
    field = item.get("field")
    if field not in fields:
        raise QueryError(f"Field {field!r} does not exist on this entity.")
    if op in ("exist", "notExist"):
        present = op == "exist"
        return lambda record: (record.get(field) not in (None, "")) is present
    if op in ("in", "notIn"):
        values = item.get("value")
        if not isinstance(values, list):
            raise QueryError(f"The {op} operator takes a list of values.")
        inside = op == "in"

        def listed(record: dict[str, Any]) -> bool:
            return any(COMPARE["eq"](*_comparable(record.get(field), value)) for value in values) is inside

        return listed
    if op not in COMPARE or "value" not in item:
        raise QueryError(f"Unknown operator {op!r} or no value for {field}.")
    test, value = COMPARE[op], item["value"]

    def matches(record: dict[str, Any]) -> bool:
        try:
            return bool(test(*_comparable(record.get(field), value)))
        except TypeError:
            return False

    return matches


def parse(search: Any, fields: set[str]) -> tuple[Callable[[dict[str, Any]], bool], int]:
    """The record test and the page size of a query body."""
    if not isinstance(search, dict) or not isinstance(search.get("filter"), list) or not search["filter"]:
        raise QueryError("A query needs a filter: a list of at least one condition.")
    parts = [condition(item, fields) for item in search["filter"]]
    size = search.get("MaxRecords", MAX_RECORDS)
    if not isinstance(size, int) or not 1 <= size <= MAX_RECORDS:
        raise QueryError(f"MaxRecords must be between 1 and {MAX_RECORDS}.")
    return (lambda record: all(part(record) for part in parts)), size


def page(
    records: list[dict[str, Any]],
    search: dict[str, Any],
    *,
    fields: set[str],
    after_id: int,
    next_url: str,
    include: list[str],
) -> dict[str, Any]:
    """One page of the matching records after ``after_id``, in id order, with Autotask's ``pageDetails``."""
    matches, size = parse(search, fields | {"id"})
    found = sorted((r for r in records if r["id"] > after_id and matches(r)), key=lambda r: r["id"])
    items, more = found[:size], len(found) > size
    if include:
        items = [{key: r.get(key) for key in {"id", *include}} for r in items]
    paging = json.dumps({"pageSize": size, "lastId": items[-1]["id"] if items else after_id})
    link = f"{next_url}?{urlencode({'paging': paging, 'search': json.dumps(search)})}" if more else None
    details = {"count": len(items), "requestCount": size, "prevPageUrl": None, "nextPageUrl": link}
    return {"items": items, "pageDetails": details}
