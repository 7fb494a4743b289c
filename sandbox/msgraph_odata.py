"""OData v4 as Microsoft Graph speaks it, for the stand-in: ``$filter`` (the forms Gaby uses), ``$select``,
``$top`` with ``@odata.nextLink`` paging (an opaque ``$skiptoken``), and Graph's error body.

``$filter`` supports ``prop eq 'value'``, ``startswith(prop,'value')`` and ``prop eq true|false``, joined by
``or`` / ``and`` (no parentheses); anything else is refused with Graph's 400 ``BadRequest``, as an unsupported
query is by the real service — a connector that relied on more would fail here first.
"""

from __future__ import annotations

import base64
import datetime
import json
import re
import uuid
from collections.abc import Callable
from typing import Any
from urllib.parse import urlencode

from sandbox.base import Request, Response

MAX_TOP = 999
DEFAULT_PAGE = 100

CODES = {
    400: "BadRequest",
    401: "InvalidAuthenticationToken",
    403: "Authorization_RequestDenied",
    404: "Request_ResourceNotFound",
    405: "MethodNotAllowed",
    409: "Conflict",
    429: "TooManyRequests",
    500: "InternalServerError",
    503: "ServiceUnavailable",
    504: "GatewayTimeout",
}


def error(status: int, message: str, code: str | None = None, headers: dict[str, str] | None = None) -> Response:
    return Response(status, error_body(status, message, code), headers or {})


def error_body(status: int, message: str, code: str | None = None) -> dict[str, Any]:
    now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S")
    request_id = str(uuid.uuid4())
    return {
        "error": {
            "code": code or CODES.get(status, "UnknownError"),
            "message": message,
            "innerError": {"date": now, "request-id": request_id, "client-request-id": request_id},
        }
    }


class ODataError(Exception):
    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.response = error(400, message)


_CLAUSE = re.compile(
    r"""\s*(?:
        startswith\(\s*(?P<sw_prop>[A-Za-z/]+)\s*,\s*'(?P<sw_value>(?:[^']|'')*)'\s*\)
      | (?P<eq_prop>[A-Za-z/]+)\s+eq\s+(?:'(?P<eq_value>(?:[^']|'')*)'|(?P<eq_bool>true|false))
    )\s*""",
    re.VERBOSE,
)


def _lookup(entity: dict[str, Any], prop: str) -> Any:
    value: Any = entity
    for part in prop.split("/"):
        value = value.get(part) if isinstance(value, dict) else None
    return value


def parse_filter(text: str | None) -> Callable[[dict[str, Any]], bool]:
    """A predicate for ``$filter``; string comparisons are case-insensitive, as Graph's are for these properties."""
    if not text:
        return lambda entity: True
    tokens = re.split(r"\s+(or|and)\s+", text.strip())
    clauses: list[Callable[[dict[str, Any]], bool]] = []
    joins: list[str] = []
    for number, token in enumerate(tokens):
        if number % 2 == 1:
            joins.append(token)
            continue
        match = _CLAUSE.fullmatch(token)
        if match is None:
            raise ODataError(f"Invalid filter clause: the stand-in does not support {token!r}.")
        clauses.append(_clause(match))

    def predicate(entity: dict[str, Any]) -> bool:
        result = clauses[0](entity)
        for join, clause in zip(joins, clauses[1:], strict=True):
            result = (result or clause(entity)) if join == "or" else (result and clause(entity))
        return result

    return predicate


def _clause(match: re.Match[str]) -> Callable[[dict[str, Any]], bool]:
    if match.group("sw_prop"):
        prop, wanted = match.group("sw_prop"), match.group("sw_value").replace("''", "'").lower()
        return lambda entity: str(_lookup(entity, prop) or "").lower().startswith(wanted)
    prop = match.group("eq_prop")
    if match.group("eq_bool"):
        flag = match.group("eq_bool") == "true"
        return lambda entity: _lookup(entity, prop) is flag
    wanted = match.group("eq_value").replace("''", "'").lower()
    return lambda entity: str(_lookup(entity, prop) or "").lower() == wanted


def select(entity: dict[str, Any], request: Request, default: tuple[str, ...]) -> dict[str, Any]:
    """``$select`` (``id`` and the OData type always kept); without it, the resource's default property set."""
    raw = request.arg("$select")
    wanted = [name.strip() for name in raw.split(",") if name.strip()] if raw else list(default)
    keep = {"id", "@odata.type", *wanted}
    return {key: value for key, value in entity.items() if key in keep}


def page(
    request: Request,
    items: list[dict[str, Any]],
    *,
    base: str,
    context: str,
    shape: Callable[[dict[str, Any]], dict[str, Any]],
) -> Response:
    """One page of a collection: ``$top`` (1..999), then ``@odata.nextLink`` carrying the query and a skiptoken."""
    try:
        top = int(request.arg("$top") or DEFAULT_PAGE)
    except ValueError:
        return error(400, f"Invalid value '{request.arg('$top')}' for query option $top.")
    if not 1 <= top <= MAX_TOP:
        return error(400, f"Invalid page size specified: '{top}'. Must be between 1 and {MAX_TOP} inclusive.")
    offset = _skip(request.arg("$skiptoken"))
    if offset is None:
        return error(400, "The $skiptoken is not valid for this request.")
    chunk = items[offset : offset + top]
    body: dict[str, Any] = {"@odata.context": f"{base}/$metadata#{context}", "value": [shape(item) for item in chunk]}
    if offset + top < len(items):
        query = {key: values[-1] for key, values in request.query.items() if key != "$skiptoken"}
        query["$top"] = str(top)
        query["$skiptoken"] = _token(offset + top)
        body["@odata.nextLink"] = f"{base}{request.path.removeprefix('/v1.0')}?{urlencode(query, safe='$,/()')}"
    return Response(200, body)


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(json.dumps({"o": offset}).encode()).decode().rstrip("=")


def _skip(token: str | None) -> int | None:
    if not token:
        return 0
    try:
        decoded = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
        offset = int(decoded["o"])
    except (ValueError, KeyError, TypeError):
        return None
    return offset if offset >= 0 else None
