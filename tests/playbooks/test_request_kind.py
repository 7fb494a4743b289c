"""Question or problem: how-to questions are told apart from tickets that report a problem or ask for an action."""

from __future__ import annotations

import pytest

from apps.agent.playbooks.request_kind import Kind, asks_us_to_act, classify


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ("Where can I download our invoices?", Kind.QUESTION),
        ("How long does shipping take to Germany?", Kind.QUESTION),
        ("What is your refund policy?", Kind.QUESTION),
        ("Is there a way to get a daily digest instead?", Kind.QUESTION),
        ("I'd like to know how to cancel", Kind.QUESTION),
        ("We never received this month's invoice. Could you send it again?", Kind.ACTIONABLE),
        ("How do I get back in? My account is locked.", Kind.ACTIONABLE),  # a problem outweighs the how-to
        ("Where is my order NW-10042?", Kind.ACTIONABLE),
        ("Can you confirm our subscription is active?", Kind.ACTIONABLE),
        ("I can\u2019t log in since this morning", Kind.ACTIONABLE),
        # Any verb after "could you" asks us to do something (a feature here; whether a playbook fits is matching's
        # call), unless it asks to be told something.
        ("Could you add Gantt charts to projects", Kind.ACTIONABLE),
        ("Could you clear that so I can get back in? It's my own account.", Kind.ACTIONABLE),
        ("Could you explain the refund policy?", Kind.QUESTION),
        # Wanting to learn or to prevent something asks nothing; a state that might happen is not reported.
        ("What do I need to do to cancel our subscription?", Kind.STATEMENT),
        ("I want to avoid a failed payment before it happens. How does that work?", Kind.QUESTION),
        ("In case my card expires next month, what happens?", Kind.QUESTION),
        ("My payment failed.", Kind.ACTIONABLE),
    ],
)
def test_kinds(text: str, kind: Kind) -> None:
    found = classify(text)
    assert found.kind is kind, found
    assert bool(found.cue) is (kind is not Kind.STATEMENT)


@pytest.mark.parametrize(
    ("sentence", "asks"),
    [
        ("Can you please turn my user on again so I can work?", True),
        ("Please resend it.", True),
        ("Do we lose those events, or will you send them again later?", False),  # what we will do, not an ask
        ("Will you please send them again?", True),
        ("Could you tell me how long a refund takes?", False),
        ("Please let me know where the export button is.", False),
        ("Please tell me how long a refund takes.", False),
    ],
)
def test_asks_us_to_act(sentence: str, asks: bool) -> None:
    assert bool(asks_us_to_act(sentence)) is asks


@pytest.mark.parametrize(
    "text",
    [
        "Where exactly do I put our VAT number so it is printed on the next invoice?",
        "How precisely can we move our data to the EU region?",
    ],
)
def test_an_adverb_between_still_asks_how_to(text: str) -> None:
    from apps.agent.triage import classify as classify_ticket

    assert classify_ticket("", text, flags=[], language="en").how_to  # a how-to, not only a "?"
