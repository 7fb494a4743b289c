"""Question or problem: how-to questions are told apart from tickets that report a problem or ask for an action."""

from __future__ import annotations

import pytest

from apps.agent.playbooks.request_kind import Kind, classify


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
        ("Could you add Gantt charts to projects", Kind.STATEMENT),
    ],
)
def test_kinds(text: str, kind: Kind) -> None:
    found = classify(text)
    assert found.kind is kind, found
    assert bool(found.cue) is (kind is not Kind.STATEMENT)
