"""ConnectWise's ``conditions`` query language, as the stand-in reads it.

``conditions=company/id = 250 and lastUpdated > [2026-11-16T09:00:00Z]``: comparisons joined by ``and`` / ``or``
(``and`` binds tighter; no parentheses), a field is a path into the record (``company/id``; a bare name also
looks in ``_info``, as ``lastUpdated`` does in Manage), values are ``"strings"``, ``[dates]``, numbers,
``true`` / ``false`` / ``null``. Operators: ``= != < <= > >= contains like`` (``like`` takes ``*`` wildcards).
Strings compare without case, as Manage's SQL collation does. Anything else raises ``ConditionError``.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

TOKEN = re.compile(
    r"""\s*(?:
        (?P<string>"(?:[^"\\]|\\.)*")
      | (?P<date>\[[^\]]*\])
      | (?P<op><=|>=|!=|=|<|>)
      | (?P<word>[A-Za-z_][A-Za-z0-9_/]*)
      | (?P<number>-?\d+(?:\.\d+)?)
    )""",
    re.VERBOSE,
)
WORD_OPS = {"contains", "like"}


class ConditionError(ValueError):
    """A conditions string Manage would refuse; the message names what is wrong."""


def _when(text: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(text.strip().replace("Z", "+00:00"))
    except ValueError:
        raise ConditionError(f"[{text}] is not a date; write [2026-12-01T00:00:00Z].") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


def _tokens(text: str) -> list[tuple[str, str]]:
    found, position = [], 0
    while position < len(text):
        if not text[position:].strip():
            break
        match = TOKEN.match(text, position)
        if match is None:
            raise ConditionError(f"Unexpected text in conditions near {text[position : position + 20]!r}.")
        kind = match.lastgroup or ""
        found.append((kind, match.group(kind)))
        position = match.end()
    return found


def _value(kind: str, raw: str) -> Any:
    if kind == "string":
        return raw[1:-1].replace('\\"', '"')
    if kind == "date":
        return _when(raw[1:-1])
    if kind == "number":
        return float(raw) if "." in raw else int(raw)
    lowered = raw.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "null":
        return None
    raise ConditionError(f'{raw!r} is not a value: quote strings ("text") and bracket dates ([2026-12-01T00:00:00Z]).')


def lookup(record: dict[str, Any], path: str) -> tuple[bool, Any]:
    """The value at ``company/id`` in a record; a bare name is also looked up in ``_info`` (``lastUpdated``)."""
    for candidate in (path, f"_info/{path}"):
        current: Any = record
        for part in candidate.split("/"):
            if not isinstance(current, dict) or part not in current:
                break
            current = current[part]
        else:
            return True, current
    return False, None


def _compare(left: Any, op: str, right: Any) -> bool:
    if isinstance(right, datetime):
        if left in (None, ""):
            return False
        left = _when(str(left))
    if isinstance(left, str) and isinstance(right, str):
        left, right = left.lower(), right.lower()
    if op == "=":
        return bool(left == right)
    if op == "!=":
        return bool(left != right)
    if op == "contains":
        return isinstance(left, str) and str(right) in left
    if op == "like":
        return isinstance(left, str) and fnmatch.fnmatchcase(left, str(right).replace("%", "*"))
    if left is None or right is None:
        return False
    try:
        return bool({"<": left < right, "<=": left <= right, ">": left > right, ">=": left >= right}[op])
    except TypeError:
        raise ConditionError(f"Cannot compare {left!r} with {right!r} using {op}.") from None


def parse(text: str, *, known: Callable[[str], bool]) -> Callable[[dict[str, Any]], bool]:
    """A predicate over records; ``known(field)`` says whether the resource has that field at all."""
    tokens = _tokens(text)
    groups: list[list[tuple[str, str, Any]]] = [[]]
    index = 0
    while index < len(tokens):
        if len(tokens) - index < 3:
            raise ConditionError(f"Incomplete condition at the end of {text!r}: write field operator value.")
        (field_kind, field), (op_kind, op), (value_kind, raw) = tokens[index : index + 3]
        if field_kind != "word":
            raise ConditionError(f"Expected a field name, found {field!r}.")
        if not known(field):
            raise ConditionError(f"Unknown field {field!r} in conditions.")
        if op_kind != "op" and not (op_kind == "word" and op.lower() in WORD_OPS):
            raise ConditionError(f"Expected an operator after {field!r}, found {op!r}.")
        groups[-1].append((field, op.lower(), _value(value_kind, raw)))
        index += 3
        if index < len(tokens):
            joiner = tokens[index][1].lower()
            if joiner == "or":
                groups.append([])
            elif joiner != "and":
                raise ConditionError(f"Join conditions with and / or, found {tokens[index][1]!r}.")
            index += 1
            if index == len(tokens):
                raise ConditionError(f"Conditions end with {joiner!r}.")

    def matches(record: dict[str, Any]) -> bool:
        return any(all(_compare(lookup(record, f)[1], op, v) for f, op, v in group) for group in groups)

    return matches
