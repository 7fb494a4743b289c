"""The Gaby panel on a ticket's page: what Gaby made of the ticket, in plain words, and what an operator can do.

The ticket page belongs to the tickets app, which knows nothing of investigations; it draws this panel through the
``{% gaby_panel ticket %}`` tag (apps/agent/templatetags/gaby_panel.py), and the panel's buttons post here.
"""

from __future__ import annotations

from typing import Any

from apps.agent.models import Investigation, ReplyState, VerdictChoice
from apps.safety.models import ActionStatus, ToolAction
from apps.tickets.models import Ticket

TEMPLATE = "agent/_ticket_panel.html"

# What each verdict means for the operator reading the ticket, before any internal detail.
NEXT_STEP = {
    VerdictChoice.AUTO_RESOLVED: "Gaby answered the customer; nothing is left to do unless they write back.",
    VerdictChoice.NEEDS_TECH: "A technician should take this ticket: Gaby's findings are below.",
    VerdictChoice.NEEDS_L2: "Gaby stopped and handed this to the team: the reason is below.",
    VerdictChoice.NEEDS_CLIENT: "Gaby asked the customer for what it needs and waits for their answer.",
    VerdictChoice.FAILED: "The investigation did not finish. Investigate again, or handle the ticket yourself.",
}


DRAFT_WAITING = "Gaby wrote a reply and waits for you: edit it if needed, then send it or discard it."


def latest_investigation(ticket: Ticket) -> Investigation | None:
    return Investigation.objects.filter(ticket=ticket).order_by("-created_at").first()


def panel_context(ticket: Ticket, *, can_write: bool, error: str = "") -> dict[str, Any]:
    investigation = latest_investigation(ticket)
    waiting: list[ToolAction] = []
    if investigation is not None:
        waiting = list(
            ToolAction.objects.filter(
                investigation_steps__investigation=investigation, status=ActionStatus.AWAITING_APPROVAL
            ).distinct()
        )
    draft = investigation is not None and investigation.reply_state == ReplyState.DRAFTED
    next_step = ""
    if draft:
        next_step = DRAFT_WAITING
    elif investigation is not None and investigation.verdict:
        next_step = NEXT_STEP.get(VerdictChoice(investigation.verdict), "")
    return {
        "ticket": ticket,
        "investigation": investigation,
        "next_step": next_step,
        "draft": draft,
        "awaiting_approval": waiting,
        "can_write": can_write,
        "error": error,
    }
