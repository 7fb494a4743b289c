"""A ticket with several questions: each part is read with the sentence before it, and a part that asks us to act
is never "answered" with a help page.

Through the real path (raw email → engine → knowledge search on the demo pages → reply), in no-LLM mode. The first
failed before: "And can I do it myself or do I need to ask sales?" names nothing of its own, so no passage was
confident enough for it alone and the ticket escalated. The second guards the change: with the sentence before it as
context, "Can you please turn my user on again?" found a confident page, and a help page is not what was asked.
"""

from __future__ import annotations

from apps.agent.evals.environment import Environment
from tests.agent.eval_world import email_in, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module


def test_a_part_that_refers_back_is_answered_with_the_sentence_before_it(world_of: Environment) -> None:
    body = (
        "We're on Starter and are about to hire our 11th engineer, so we'll need to go up to Team. Our billing date "
        "is the 1st. If I upgrade on the 18th, do we pay a full month of Team on top of what we've already paid, or "
        "only the difference for the rest of the month? And can I do it myself or do I need to ask sales?"
    )
    investigation = email_in(
        world_of, sender="Ifeoma Nwosu <cto@parallax-robotics.example>", subject="Upgrading mid-month", body=body
    )
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge"), investigation.summary
    assert "plans and pricing" in investigation.summary.lower()


def test_a_part_asking_us_to_act_is_not_answered_with_a_page(world_of: Environment) -> None:
    body = (
        "Good evening,\n\nwhen I enter my email and password, the page says my user is not active anymore. We had "
        "some trouble with the card payment last month, maybe it is connected? Can you please turn my user on "
        "again so I can work?\n\nBest regards,\nKim"
    )
    investigation = email_in(
        world_of, sender="Kim Lee <kim.lee@unknown-studio.example>", subject="my user seems switched off", body=body
    )
    assert investigation.verdict != "auto_resolved", investigation.summary
