"""Inbox display helpers: SLA countdown, badges."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.utils import timezone

register = template.Library()


def _span(seconds: float) -> str:
    minutes = int(abs(seconds) // 60)
    if minutes < 60:
        return f"{minutes}m"
    hours, minutes = divmod(minutes, 60)
    if hours < 48:
        return f"{hours}h {minutes:02d}m"
    return f"{hours // 24}d {hours % 24}h"


@register.filter
def sla_state(due: datetime | None) -> str:
    """ "overdue", "soon" (under 2 hours), "ok" or "" without a deadline (SUP-8)."""
    if due is None:
        return ""
    left = (due - timezone.now()).total_seconds()
    return "overdue" if left < 0 else "soon" if left < 7200 else "ok"


@register.filter
def sla_countdown(due: datetime | None) -> str:
    if due is None:
        return "—"
    left = (due - timezone.now()).total_seconds()
    return f"{_span(left)} overdue" if left < 0 else f"{_span(left)} left"
