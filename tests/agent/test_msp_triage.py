"""Ticket kinds for an MSP's everyday asks: adding a person to a mailbox or group and re-pushing software are asks
for an action (a person or a playbook takes them), never questions the help center closes with a page."""

from __future__ import annotations

import pytest

from apps.agent.playbooks.request_kind import Kind
from apps.agent.playbooks.request_kind import classify as classify_request
from apps.agent.triage import TicketKind, classify


@pytest.mark.parametrize(
    ("body", "kind"),
    [
        # Failed before: read as a question ("?") and closed from the help center's shared-mailbox page.
        ("Can you add me to the partners shared mailbox? I need to see the engagement letters.", "action_request"),
        ("Could you put Sam Ortiz in the Litigation group?", "action_request"),
        ("Please add sam.ortiz@hartwelllaw.com to the billing@ shared mailbox.", "action_request"),
        # Failed before: closed with the Company Portal page instead of syncing the laptop.
        ("The new version of Acrobat you pushed is still not on my laptop, can you push it again?", "action_request"),
        ("Could you reinstall Teams on my PC?", "action_request"),
        # Still questions: the object is a thing, or the ticket asks how to do it oneself.
        ("Can you add our VAT number and company address to our invoices?", "question"),
        ("Could you add Gantt chart views to projects? Our PMs would love it.", "question"),
        ("How do I add a shared mailbox in Outlook?", "question"),
    ],
)
def test_asks_to_add_a_person_or_push_software_are_action_requests(body: str, kind: str) -> None:
    assert classify("Request", body, flags=[]).kind is TicketKind(kind)


def test_a_push_request_is_actionable_for_the_playbook_matcher_too() -> None:
    assert classify_request("It never arrived, can you push it again?").kind is Kind.ACTIONABLE
