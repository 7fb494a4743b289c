"""How an audit event reads on a page: its name in words, its details as labelled lines (the raw JSON stays one
click away). The stored event is never changed: this is presentation only."""

from __future__ import annotations

import json
from typing import Any

from django import template

register = template.Library()


@register.filter
def event_words(name: str) -> str:
    """``client.settings_changed`` → ``Client: settings changed``."""
    subject, _, verb = name.partition(".")
    words = verb.replace("_", " ").replace(".", " ")
    return f"{subject.replace('_', ' ').capitalize()}: {words}" if words else subject.replace("_", " ").capitalize()


def _value(value: Any) -> str:
    if isinstance(value, dict) and set(value) == {"from", "to"}:
        return f"{_value(value['from'])} → {_value(value['to'])}"
    if isinstance(value, str):
        return value
    if value is None:
        return "—"
    return json.dumps(value, ensure_ascii=False, default=str)


@register.filter
def detail_lines(payload: Any) -> list[tuple[str, str]]:
    """A payload's top-level keys as (label, value) pairs; a change ``{"from": a, "to": b}`` reads ``a → b``."""
    if not isinstance(payload, dict):
        return [("value", _value(payload))]
    lines: list[tuple[str, str]] = []
    for key, value in payload.items():
        label = str(key).replace("_", " ")
        if (
            isinstance(value, dict)
            and value
            and all(isinstance(v, dict) and set(v) == {"from", "to"} for v in value.values())
        ):
            lines.extend((f"{label}: {str(k).replace('_', ' ')}", _value(v)) for k, v in value.items())
        else:
            lines.append((label, _value(value)))
    return lines


@register.filter
def as_json(payload: Any) -> str:
    return json.dumps(payload, ensure_ascii=False, indent=2, default=str, sort_keys=True)
