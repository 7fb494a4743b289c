"""A question that reports nothing wrong and asks nothing done goes to the help center before any playbook.

Through the real path (raw email → engine → connectors on their stand-ins → gate → reply), in no-LLM mode. The first
failed before: the refund playbook took a policy question and asked the customer which charge to refund. The
second guards the new order: "could you clear that" must still count as asking for the action (any verb does, not
only those on a list), or the help page would answer where the customer asked to be unlocked.
"""

from __future__ import annotations

from apps.agent.evals.environment import Environment
from tests.agent.eval_world import MARIA, email_in, executed, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module
UNKNOWN = "Office <office@bakery-unknown.example>"  # no account in Keycloak, Stripe or the shop


def test_a_policy_question_is_answered_from_knowledge_without_touching_the_account(world_of: Environment) -> None:
    body = (
        "hi, quick one before we decide anything:\n"
        "if we cancel our monthly plan on the 10th do we get the remaining 20 days back or not\n"
        "thx David"
    )
    investigation = email_in(
        world_of,
        sender="David Chen <david.chen@quillworks.example>",
        subject="cancel mid month = partial refund?",
        body=body,
    )
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge"), investigation.summary
    assert "refund" in investigation.summary.lower()  # answered from the refunds page
    assert not [step for step in investigation.steps.all() if step.action_id is not None]  # nothing looked up


def test_could_you_with_any_verb_asks_for_the_action(world_of: Environment) -> None:
    body = (
        "Hello Northwind support,\n\nOn Monday I changed my password and then on the tablet in the warehouse I kept "
        "typing the old one, I guess 5 or 6 times. Now the web login refuses me even with the correct new password "
        "and just tells me to wait. Could you clear that so I can get back in? It's my own account.\n\nMaria"
    )
    investigation = email_in(world_of, sender=f"Maria Lopez <{MARIA}>", subject="login refused", body=body)
    assert len(world_of.sandboxes["keycloak"].unlocks) == 1, investigation.summary  # Maria's own account
    assert investigation.decided_by.startswith("playbook:") and executed(investigation)


def test_wanting_to_avoid_a_problem_is_not_reporting_it(world_of: Environment) -> None:
    body = (
        "Hello,\nour bank now asks us to confirm some card payments in its app. How does that work with your monthly "
        "subscription charges? I want to avoid a failed payment next month.\nThanks, Aiko"
    )
    investigation = email_in(
        world_of, sender="Aiko Tanaka <aiko.tanaka@hinode.example>", subject="card confirmation", body=body
    )
    assert not investigation.decided_by.startswith("playbook:"), investigation.summary
    assert not [step for step in investigation.steps.all() if step.action_id is not None]  # no account read


def test_a_question_from_someone_without_an_account_is_still_answered(world_of: Environment) -> None:
    # The failed-payment playbook fits, but the sender is no Stripe customer: nothing of theirs can be looked at, and
    # asking them for "the email your invoices go to" leaves their two questions unanswered.
    body = (
        "Hello,\nwe got an email saying the payment for our subscription failed. Our card expired last month. "
        "What happens if we don't pay right away, will the team lose access? Where do we change the card?\nThanks"
    )
    investigation = email_in(world_of, sender=UNKNOWN, subject="Payment failed", body=body)
    assert (investigation.verdict, investigation.decided_by) == ("auto_resolved", "knowledge"), investigation.summary


def test_a_question_about_their_own_account_still_needs_the_account(world_of: Environment) -> None:
    body = "Hi, is our subscription still active? We got an email about a failed payment.\nThanks"
    investigation = email_in(world_of, sender=UNKNOWN, subject="subscription", body=body)
    assert investigation.verdict == "needs_client", investigation.summary
