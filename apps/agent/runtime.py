"""What every step of an investigation reads about where it runs: the client whose schema is active, that client's
agent settings, and a ticket status change that gives way when the ticket moved on meanwhile."""

from __future__ import annotations

import contextlib
from typing import Any

from django.db import connection

from apps.agent.models import AgentSettings
from apps.tickets import services as tickets
from apps.tickets.models import Ticket
from tenants.models import Client


def settings_for() -> AgentSettings:
    """The current client's investigation settings (one row per schema, created with defaults on first read; two
    first reads at once both get the one row, see apps/core/singleton.py)."""
    return AgentSettings.objects.one()


def current_client() -> Client:
    tenant = getattr(connection, "tenant", None)
    if not isinstance(tenant, Client) or tenant.is_public:
        raise RuntimeError("Investigations run inside a client's schema.")
    return tenant


def try_status(ticket: Ticket, status: str, actor: Any) -> None:
    """Move the ticket to ``status`` unless it cannot go there now."""
    # e.g. closed meanwhile: the reply stands, the status stays as the operator left it
    with contextlib.suppress(tickets.TransitionError):
        tickets.change_status(ticket=ticket, status=status, actor=actor)
