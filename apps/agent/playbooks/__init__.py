"""YAML playbooks (SUP-7): match a ticket, extract what it names, run tool steps through the safety gate, reply
from a template with citations, or escalate by rule. The investigation engine calls ``decide(context)``; pages
and evals call ``match(ticket)`` to explain which playbook would run and why.

This package is also a Django app (label ``playbooks``: a client's own playbooks are stored in its schema), so
the entry points import lazily and importing it never touches the app registry.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from apps.agent.contracts import Finding, InvestigationContext, TicketView
    from apps.agent.playbooks.matching import Match


def decide(context: InvestigationContext) -> Finding | None:
    """Run the best-matching active playbook for the context's ticket; None when none matches."""
    from apps.agent.playbooks.decider import decide as _decide

    return _decide(context)


def match(ticket: TicketView) -> list[Match]:
    """Every active playbook scored against the ticket, best first, each with the reasons for its score."""
    from apps.agent.playbooks.decider import match as _match

    return _match(ticket)
