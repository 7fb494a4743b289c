"""``{% time_panel ticket %}``: the Time panel of apps/billing/panel.py, for the ticket page."""

from __future__ import annotations

from typing import Any

from django import template

from apps.accounts.models import Role
from apps.billing.panel import TEMPLATE, panel_context
from apps.tickets.models import Ticket

register = template.Library()


@register.inclusion_tag(TEMPLATE, takes_context=True)
def time_panel(context: template.Context, ticket: Ticket) -> dict[str, Any]:
    membership = getattr(context.get("request"), "membership", None)
    can_write = membership is not None and membership.allows(Role.AGENT)
    return {**panel_context(ticket, can_write=can_write), "csrf_token": context.get("csrf_token")}
