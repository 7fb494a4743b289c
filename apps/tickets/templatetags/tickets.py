"""Inbox display helpers: SLA countdown, badges."""

from __future__ import annotations

from datetime import datetime

from django import template
from django.template.loader import render_to_string
from django.utils import timezone
from django.utils.html import format_html_join
from django.utils.safestring import SafeString

from apps.tickets import inbox

register = template.Library()


# The columns other apps add to the inbox (apps.tickets.inbox.TicketFacet). Tags rather than context, so a row
# drawn alone for a live insert gets the same cells as the page's.
@register.simple_tag
def facet_headers() -> SafeString:
    return format_html_join("", '<th scope="col">{}</th>', ((facet.label,) for facet in inbox.ticket_facets()))


@register.simple_tag
def facet_cells(ticket: object) -> SafeString:
    return format_html_join(
        "",
        "<td>{}</td>",
        ((render_to_string(facet.cell_template, {"ticket": ticket}),) for facet in inbox.ticket_facets()),
    )


@register.simple_tag
def facet_blank_cells() -> SafeString:
    """A row that is no ticket (a chat) has nothing to show in those columns."""
    return format_html_join("", "<td>{}</td>", (("",) for _ in inbox.ticket_facets()))


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


@register.filter
def first_line(text: str) -> str:
    """A long note's headline (Gaby's write-ups open with one); the rest folds under it."""
    return text.strip().split("\n", 1)[0]


@register.filter
def after_first_line(text: str) -> str:
    parts = text.strip().split("\n", 1)
    return parts[1].strip() if len(parts) > 1 else ""
