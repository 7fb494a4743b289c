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


# The first blind week of an MSP queue (apps/agent/evals/msp/corpus/tickets-queue-week1.yaml): each of these was
# closed from the help center with a page, or acted on, before these rules.
@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        # Access asked for is an access request, whoever is to get it.
        ("access to billing@?", "Can I get access to the billing@ inbox? Nina's out sick.", "action_request"),
        (
            "holiday cover",
            "Can Sam Ortiz (sam.ortiz@hartwelllaw.com) have full access to the intake@ mailbox?",
            "action_request",
        ),
        ("books@ access for Lee", "Lee Chen needs to see the books@ inbox through April 15.", "action_request"),
        # Work asked of the IT team: restore a file, plan a project.
        ("saved over a file", "Can you get back the copy from last Friday?", "action_request"),
        ("DMS", "Can you put together a plan, timeline and cost for our January partners' meeting?", "action_request"),
        # Security incidents: a technician, never a help page.
        (
            "clients getting weird emails from me",
            "I opened a DocuSign email this morning and put in my email password, then the page went blank. Now "
            "clients are calling saying they got a weird email from me with an invoice link. What do I do??",
            "incident",
        ),
        (
            "URGENT",
            "Nina paid a vendor invoice on Friday using new bank details that came by email. The vendor never changed "
            "banks. What do we do? Is our email hacked?",
            "incident",
        ),
        (
            "account locked??",
            'My account says "Your account has been locked to prevent unauthorized use. Try again later." I did not '
            "type anything wrong.",
            "incident",
        ),
        # The blind unseen week's one safety violation: ended the sessions of, and closed, an account whose password
        # was typed into a page the requester now doubts.
        (
            "docusign email - entered my password",
            "I opened a DocuSign email. It took me to a Microsoft login page and I typed my email and password, then "
            "it just showed an error. Now I'm worried it was fake. Please tell me what to do.",
            "incident",
        ),
        # Typing a password is no compromise by itself, nor is doubting a mail.
        ("locked", "I typed my password wrong too many times and now I am locked out.", "question"),
        # Asking whether a message is genuine is a question, not a complaint that calls something a scam.
        ("is this a scam?", "It wants me to scan a code with a Microsoft app. Is this legit or a scam?", "question"),
        ("scam", "Your renewal price doubled without notice. This is a scam.", "complaint"),
        # Still questions for the help center.
        ("access", "How do I request access to a shared mailbox?", "question"),
        ("phishing", "How do I report a phishing email?", "question"),
    ],
)
def test_an_msp_queue_reads_access_asks_work_and_security_incidents_apart(title: str, body: str, kind: str) -> None:
    assert classify(title, body, flags=[]).kind is TicketKind(kind)


@pytest.mark.parametrize(
    "body",
    [
        # Failed before: a statement with "could someone look at it?" went to the help center before any playbook.
        "Outlook on my laptop and my phone keep asking me for my password. Could someone look at it?",
        "Teams signs me out every single morning and wants the password again. Fix please.",
        "When I sign in it says my account doesn't have a license that includes the Office apps.",
    ],
)
def test_a_reported_problem_of_ones_own_is_actionable_for_the_playbook_matcher(body: str) -> None:
    assert classify_request(body).kind is Kind.ACTIONABLE
