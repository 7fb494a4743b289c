"""The sandboxed template engine for playbook arguments, conditions and replies (Jinja2's immutable sandbox).

Playbook authors are client admins, and the values rendered (ticket text, tool results) are untrusted: the
sandbox forbids reaching into Python internals and mutating anything, ranges are capped, and the values are
data handed to a compiled template, never template source. A missing value is falsy and renders empty, so
conditions over tool results of any shape stay simple (``steps.user.data | records | first``); arguments
that end up empty are caught by the runner instead of being sent.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from jinja2 import ChainableUndefined, TemplateError, Undefined
from jinja2.sandbox import ImmutableSandboxedEnvironment

from apps.agent.playbooks.months import in_month, month_of

MAX_OUTPUT = 20_000  # characters of one rendered reply; a runaway loop must not build megabytes


def records(value: Any) -> list[Any]:
    """Rows as a list of dicts, whatever the tool returned: ``{"columns": [...], "rows": [[...]]}`` (the
    PostgreSQL connector), a list, or a dict holding the list under a usual key; anything else is ``[]``."""
    if isinstance(value, list):
        return value
    if not isinstance(value, dict):
        return []
    columns, rows = value.get("columns"), value.get("rows")
    if isinstance(columns, list) and isinstance(rows, list):
        return [dict(zip(columns, row, strict=False)) if isinstance(row, list) else row for row in rows]
    for key in ("items", "data", "results", "users", "customers", "invoices", "charges", "subscriptions", "sessions"):
        if isinstance(value.get(key), list):
            return list(value[key])
    return []


def find(items: Any, **criteria: Any) -> Any:
    """The first record (see ``records``) whose fields equal all the criteria, compared as text; else None.
    ``find(steps.invoices.data, status="open")``. A criterion whose value is missing matches nothing."""
    for item in records(items):
        if isinstance(item, dict) and all(
            value not in (None, "") and not isinstance(value, Undefined) and str(item.get(key)) == str(value)
            for key, value in criteria.items()
        ):
            return item
    return None


def _money(cents: Any, currency: Any = "usd") -> str:
    """Stripe amounts are in the smallest unit: 1999 usd → "19.99 USD"."""
    try:
        return f"{int(cents) / 100:.2f} {str(currency or 'usd').upper()}"
    except (TypeError, ValueError):
        return str(cents)


def _environment() -> ImmutableSandboxedEnvironment:
    env = ImmutableSandboxedEnvironment(
        undefined=ChainableUndefined,
        autoescape=False,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=False,
    )
    env.filters["records"] = records
    env.filters["money"] = _money
    env.globals["find"] = find
    env.globals["in_month"] = lambda items, named, field="created": in_month(records(items), named, field)
    env.filters["month_of"] = month_of
    return env


ENV = _environment()


class TemplateProblem(ValueError):
    """A template that does not compile or fails to render; the message says where and why."""


@lru_cache(maxsize=2048)
def _template(source: str) -> Any:
    return ENV.from_string(source)


@lru_cache(maxsize=2048)
def _expression(source: str) -> Any:
    return ENV.compile_expression(source, undefined_to_none=False)


def check_template(source: str) -> None:
    try:
        _template(source)
    except TemplateError as exc:
        raise TemplateProblem(f"template does not compile: {exc}") from None


def check_expression(source: str) -> None:
    try:
        _expression(source)
    except TemplateError as exc:
        raise TemplateProblem(f"expression does not compile: {exc}") from None


def render(source: str, context: dict[str, Any]) -> str:
    try:
        text = str(_template(source).render(context))
    except TemplateError as exc:
        raise TemplateProblem(f"template failed: {exc}") from None
    return text[:MAX_OUTPUT].strip()


def evaluate(source: str, context: dict[str, Any]) -> Any:
    """The value of an expression; an undefined value becomes None."""
    try:
        value = _expression(source)(**context)
    except TemplateError as exc:
        raise TemplateProblem(f"expression {source!r} failed: {exc}") from None
    except (TypeError, ValueError, KeyError, IndexError, AttributeError, ZeroDivisionError) as exc:
        raise TemplateProblem(f"expression {source!r} failed on this data: {exc}") from None
    return None if isinstance(value, Undefined) else value


def truthy(source: str, context: dict[str, Any]) -> bool:
    return bool(evaluate(source, context))


def whole_expression(value: str) -> str | None:
    """``"{{ entities.email }}"`` → ``"entities.email"``: an argument that is one expression keeps its type."""
    stripped = value.strip()
    if stripped.startswith("{{") and stripped.endswith("}}") and stripped.count("{{") == 1:
        return stripped[2:-2].strip()
    return None


def render_value(value: Any, context: dict[str, Any]) -> Any:
    """Render a step argument: strings are templates, lists and dicts are rendered item by item."""
    if isinstance(value, str):
        expression = whole_expression(value)
        if expression is not None:
            return evaluate(expression, context)
        return render(value, context) if "{" in value else value
    if isinstance(value, list):
        return [render_value(item, context) for item in value]
    if isinstance(value, dict):
        return {key: render_value(item, context) for key, item in value.items()}
    return value


def check_value(value: Any) -> None:
    if isinstance(value, str):
        expression = whole_expression(value)
        if expression is not None:
            check_expression(expression)
        elif "{" in value:
            check_template(value)
    elif isinstance(value, list):
        for item in value:
            check_value(item)
    elif isinstance(value, dict):
        for item in value.values():
            check_value(item)
