"""The operations a ticket asks for, and the playbooks they rule out (apps/agent/playbooks/asked_action.py)."""

from __future__ import annotations

import pytest

from apps.agent.playbooks.asked_action import asked_operations, operations_covered, unasked_for

RESEND_INTENTS = ("Can you resend my invoice?", "Please send me the invoice again")
STATUS_INTENTS = ("What is the status of my subscription?", "Did my subscription get cancelled?")


@pytest.mark.parametrize(
    ("text", "asked"),
    [
        ("Please issue a corrected version of that invoice with our new address.", {"issue a document"}),
        ("Could you please merge Helix Labs into our workspace?", {"merge"}),
        ("We need you to cancel our plan and then extend the trial.", {"cancel"}),  # "then extend" is not asked
        ("We'd like you to cancel our plan. Could you also extend the trial?", {"cancel", "extend"}),
        # Mentioned, not asked: the state of a thing, a question about the operation, the customer doing it.
        ("Did my subscription get cancelled?", set()),
        ("How do I merge two workspaces?", set()),
        ("Verbs that depend on their object never count: please change my password.", set()),
        # A disclaimer asks nothing of us.
        ("If you are not the intended recipient, please delete it.", set()),
        ("This message is confidential. Please delete it if it reached you by mistake.", set()),
    ],
)
def test_asked_operations(text: str, asked: set[str]) -> None:
    assert asked_operations(text) == asked


def test_a_playbook_covers_what_its_intents_speak_of() -> None:
    assert operations_covered(RESEND_INTENTS) == frozenset()
    assert operations_covered(STATUS_INTENTS) == {"cancel"}  # a question about it is still its subject


def test_an_operation_the_intents_never_speak_of_rules_the_playbook_out() -> None:
    asked = asked_operations("Please issue a corrected version of our October invoice.")
    assert unasked_for(asked, RESEND_INTENTS) == "issue a document"
    assert unasked_for(asked_operations("Could you send the invoice again?"), RESEND_INTENTS) == ""
    assert unasked_for(asked_operations("Please cancel my subscription."), STATUS_INTENTS) == ""
