"""The playbook decider: pick the best active playbook the client can run, run it, return its Finding."""

from __future__ import annotations

import structlog
from django.db.models import Q

from apps.agent.contracts import Finding, InvestigationContext, TicketView
from apps.agent.playbooks.library import catalog
from apps.agent.playbooks.matching import Match, score_all, settle
from apps.agent.playbooks.runner import PlaybookRun
from apps.connectors.models import Connector
from apps.knowledge.embeddings import EmbeddingProvider

log = structlog.get_logger(__name__)


def _connector_refs() -> set[str]:
    """Kinds and names of this client's usable connectors (a step names its connector by either)."""
    rows = Connector.objects.filter(Q(enabled=True) & ~Q(status="disabled")).values_list("kind", "name")
    return {ref.lower() for row in rows for ref in row}


def _scored(ticket: TicketView, provider: EmbeddingProvider | None) -> list[Match]:
    current = catalog()
    for problem in current.problems:
        log.warning("playbook.skipped_invalid", problem=str(problem))
    return score_all(current.active, ticket, provider=provider, settled=False)


def _rule_out_lacking(matches: list[Match], available: set[str]) -> None:
    for result in matches:
        lacking = [ref for ref in result.playbook.connectors if ref.lower() not in available]
        if lacking:
            result.matched = False
            result.reasons.append(f"ruled out: no {', '.join(lacking)} connector")


def match(ticket: TicketView, *, provider: EmbeddingProvider | None = None) -> list[Match]:
    """Every active playbook scored; one whose connectors this client lacks is ruled out, with the reason."""
    matches = _scored(ticket, provider)
    _rule_out_lacking(matches, _connector_refs())
    return settle(matches)


def decide(context: InvestigationContext) -> Finding | None:
    # Only a playbook that matched can run, so the client's connectors are read only when one did.
    matches = _scored(context.ticket, context.embedding_provider)
    if any(result.matched for result in matches):
        _rule_out_lacking([result for result in matches if result.matched], _connector_refs())
    settle(matches)
    best = matches[0] if matches and matches[0].matched else None
    if best is None:
        return None
    log.info("playbook.chosen", playbook=best.name, score=best.score, ticket=context.ticket.id)
    return PlaybookRun(best.playbook, best, context).run()
