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
    """The current client's investigation settings (one row per schema, created with defaults on first read).

    Not ``objects.one()``: its get_or_create costs two savepoint round trips on the run's first read, past the
    investigation's query budget (tests/agent/test_query_budget.py). The unique singleton column still makes two
    first reads at once unable to add a second row: the later create fails instead, once per client."""
    row = AgentSettings.objects.existing()
    return row if row is not None else AgentSettings.objects.create()


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
