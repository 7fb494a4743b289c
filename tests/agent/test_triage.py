"""Ticket kinds in no-LLM mode, and when a ticket is about someone else's account (apps/agent/triage.py)."""

from __future__ import annotations

import pytest

from apps.agent.triage import TicketKind, assess, classify
from apps.safety.requester import Requester
from apps.safety.suspicion import Flag
from apps.tickets.reading import read


@pytest.mark.parametrize(
    ("title", "body", "kind"),
    [
        ("Invoices", "Where can I download our invoices as PDF?", TicketKind.QUESTION),
        ("SSO error", 'We get an "Invalid audience" error when testing SAML. What does it mean?', TicketKind.QUESTION),
        ("Lost phone", "My phone with the authenticator was stolen and I can't sign in.", TicketKind.QUESTION),
        ("Unlock", "Can you please unlock my account?", TicketKind.ACTION_REQUEST),
        ("Billing", "Please send future invoices to our accounts team instead of me.", TicketKind.ACTION_REQUEST),
        ("Export", "Why does the CSV export crash every time I click it?", TicketKind.INCIDENT),
        ("Blank", "The web app shows a blank white page since this morning.", TicketKind.INCIDENT),
        ("Down?", "Nobody in our office can reach the app, everything is down.", TicketKind.OUTAGE),
        ("Again", "This is the third time I write. Unacceptable. I want to speak to a manager.", TicketKind.COMPLAINT),
        ("GDPR", "Under Article 15 GDPR I request a copy of all data you hold on me.", TicketKind.LEGAL),
        ("Hi", "Just letting you know we moved offices.", TicketKind.OTHER),
        ("Rechnung", "Wo finde ich unsere Rechnungen als PDF?", TicketKind.QUESTION),
        # a possible account compromise goes to a technician, even asked as a question
        (
            "I think I clicked on something bad",
            "I clicked on a DocuSign link and typed my password on the page. Now I see emails in my Sent folder "
            "that I did not send. What do I do?",
            TicketKind.INCIDENT,
        ),
        ("Hacked?", "Someone signed in to my account from Brazil last night. What should I do?", TicketKind.INCIDENT),
        ("Phishing", "How do I recognise a phishing email?", TicketKind.QUESTION),
    ],
)
def test_kinds(title: str, body: str, kind: TicketKind) -> None:
    language = "de" if title == "Rechnung" else "en"
    assert classify(title, body, flags=[], language=language).kind is kind


def test_a_possible_compromise_lets_no_playbook_act() -> None:
    body = "I typed my password on a DocuSign page and now there are emails in my Sent folder I did not send."
    requester = Requester(email="ana@hartwell-law.example", name="Ana")
    assessment = assess(title="Help", read=read(body), requester=requester, flags=[])
    assert assessment.kind is TicketKind.INCIDENT and assessment.compromise and not assessment.may_act
    # what the gate holds a model's writes by (apps/agent/guards.py sets context.suspicion from it)
    assert "possible account compromise" in assessment.suspicion
    ordinary = assess(
        title="Outlook", read=read("Outlook keeps asking for my password."), requester=requester, flags=[]
    )
    assert ordinary.may_act and not ordinary.compromise


def test_a_flag_makes_the_ticket_suspicious_whatever_it_asks() -> None:
    found = classify("Pricing", "How much is Team?", flags=[Flag("payload", "{{7*7}}")])
    assert found.kind is TicketKind.SUSPICIOUS


def test_english_was_is_not_a_german_question() -> None:
    assert classify("Refund", "You told me a refund was issued last week.", flags=[], language="en").questions == []


def _assess(body: str, sender: str = "maria.lopez@brightpath.example", *, authorized: bool = False):  # type: ignore[no-untyped-def]
    requester = Requester(email=sender, authorized_for_others=authorized)
    return assess(title="t", read=read(body), requester=requester, flags=[])


def test_another_persons_address_colleague_or_forward_is_on_behalf_of_another_person() -> None:
    assert _assess("my login is jane.doe@acme.test, I'm locked out").on_behalf_of_other == "names jane.doe@acme.test"
    assert _assess("My colleague can't log in, can you unlock him?").on_behalf_of_other
    forwarded = (
        "can you sort this out?\n\n---------- Forwarded message ---------\nFrom: Carlos <carlos@b.example>\n"
        "Subject: x\n\nI forgot my password"
    )
    assert _assess(forwarded).on_behalf_of_other == "forwards a message from carlos@b.example"
    assert not _assess("My colleague says my account is locked. Can you check?").on_behalf_of_other
    signed = "Please unlock my account.\n\nBest regards,\nMaria\nAssistant: dana.ruiz@brightpath.example"
    assert not _assess(signed).on_behalf_of_other  # an address in the signature is not the subject


def test_only_an_authorized_contact_may_have_a_playbook_act_for_a_named_colleague() -> None:
    body = "Please unlock jane.doe@acme.test, she is locked out."
    assert not _assess(body).may_act
    allowed = _assess(body, authorized=True)
    assert allowed.may_act and allowed.acts_for == "jane.doe@acme.test"
    vague = _assess("Please unlock my colleague's account.", authorized=True)
    assert not vague.may_act  # no address named: a person decides whose account it is
    assert _assess("Please unlock my account.").acts_for == "maria.lopez@brightpath.example"


def test_the_reason_a_request_for_a_colleague_goes_to_a_person_fits_who_asked() -> None:
    from apps.agent.guards import kind_finding

    body = "Please grant sam.reyes@brightpath.example access to the Partners shared mailbox."
    stranger = kind_finding(_assess(body)).escalation_reason
    assert "only for the requester" in stranger
    manager = kind_finding(_assess(body, authorized=True)).escalation_reason
    assert "authorized contact" in manager and "only for the requester" not in manager
