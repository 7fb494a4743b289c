"""The knowledge answer's threshold and abstain band (apps/agent/knowledge_confidence.py), through the real path:
raw email → engine → knowledge search → reply, in no-LLM mode, by a sender with no account anywhere.

Before the band, a passage answered whenever its confidence reached 0.38, whatever the other pages scored: the
right page found at 0.36 escalated, and a page barely ahead of another (the invoices page 0.03 ahead of the
notifications page for "how do I stop these notification emails about invoices?") was sent as the answer.
"""

from __future__ import annotations

from typing import Any

from apps.agent.evals.environment import Environment
from apps.agent.models import Investigation
from tests.agent.eval_world import email_in, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module
SENDER = "Priya Nair <priya@somewhere-new.example>"


def _weighed(investigation: Investigation) -> dict[str, Any]:
    step = investigation.steps.filter(title="Weighed the knowledge answer").order_by("-ordinal").first()
    assert step is not None and isinstance(step.data, dict), investigation.summary
    parts: list[dict[str, Any]] = step.data["parts"]
    return parts[-1]


def test_the_right_page_clearly_ahead_answers_below_the_old_threshold(world_of: Environment) -> None:
    body = (
        "Hi,\nsomeone on our team removed a whole project folder yesterday by mistake. Is there any way to get it "
        "back, and for how long?\nThanks, Priya"
    )
    investigation = email_in(world_of, sender=SENDER, subject="deleted folder", body=body)
    weighed = _weighed(investigation)
    assert weighed["page"] == "Data retention and location" and weighed["score"] < 0.38, weighed
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge"), investigation.summary
    assert "Data retention" in investigation.reply


def test_two_pages_about_as_close_escalate_as_too_close_to_call(world_of: Environment) -> None:
    body = "How can I stop getting all these notification emails about invoices?\nKarin"
    investigation = email_in(world_of, sender=SENDER, subject="notif", body=body)
    weighed = _weighed(investigation)
    assert weighed["score"] >= 0.38 and weighed["margin"] < 0.04, weighed  # the old rule answered it
    assert investigation.verdict == "needs_l2", investigation.summary
    assert "too close to call" in investigation.escalation_reason
    assert not investigation.reply or "Source:" not in investigation.reply  # no page sent as the answer


def test_a_question_spanning_two_pages_is_not_answered_with_one(world_of: Environment) -> None:
    body = "Our intern emptied a folder into the bin this morning. Where do deleted files go and can we export them?"
    investigation = email_in(world_of, sender=SENDER, subject="restore intern", body=body)
    assert investigation.verdict == "needs_l2", investigation.summary
    assert "too close to call" in investigation.escalation_reason
