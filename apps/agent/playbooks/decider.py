"""The playbook decider: pick the best active playbook the client can run, run it, return its Finding."""

from __future__ import annotations

import structlog
from django.db.models import Q

from apps.agent.contracts import Finding, InvestigationContext, TicketView
from apps.agent.playbooks.library import catalog
from apps.agent.playbooks.matching import Match, score_all
from apps.agent.playbooks.runner import PlaybookRun
from apps.connectors.models import Connector

log = structlog.get_logger(__name__)


def _connector_refs() -> set[str]:
    """Kinds and names of this client's usable connectors (a step names its connector by either)."""
    rows = Connector.objects.filter(Q(enabled=True) & ~Q(status="disabled")).values_list("kind", "name")
    return {ref.lower() for row in rows for ref in row}


def match(ticket: TicketView) -> list[Match]:
    """Every active playbook scored; one whose connectors this client lacks is ruled out, with the reason."""
    current = catalog()
    for problem in current.problems:
        log.warning("playbook.skipped_invalid", problem=str(problem))
    matches = score_all(current.active, ticket)
    available = _connector_refs()
    for result in matches:
        lacking = [ref for ref in result.playbook.connectors if ref.lower() not in available]
        if lacking:
            result.matched = False
            result.reasons.append(f"ruled out: no {', '.join(lacking)} connector")
    matches.sort(key=lambda m: (not m.matched, -m.score, -len(m.playbook.match.keywords), m.name))
    return matches


def decide(context: InvestigationContext) -> Finding | None:
    matches = match(context.ticket)
    best = matches[0] if matches and matches[0].matched else None
    if best is None:
        return None
    log.info("playbook.chosen", playbook=best.name, score=best.score, ticket=context.ticket.id)
    return PlaybookRun(best.playbook, best, context).run()
