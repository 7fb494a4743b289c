"""A customer who names the month of an invoice means that month's: Gaby finds it or says it cannot, and never sends
another one in its place.

Through the real path (raw email → engine → Stripe connector on its stand-in → gate → reply), no-LLM mode. Maria's
account (the eval's Stripe seed) has an open November 2026 invoice sent by email and a paid October one. Before the
fix, the invoice playbook fell back to the open invoice whatever month was named: "my March invoice" re-sent
November's, and "the October invoice" re-sent November's too instead of giving October's link.
"""

from __future__ import annotations

from apps.agent.evals.environment import Environment
from tests.agent.eval_world import MARIA, email_in, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module
SENDER = f"Maria Lopez <{MARIA}>"


def test_a_month_with_no_invoice_is_said_and_nothing_else_is_sent(world_of: Environment) -> None:
    body = "Hello,\ncould you resend my March invoice? Our accountant needs it for the quarter.\nThanks, Maria"
    investigation = email_in(world_of, sender=SENDER, subject="March invoice", body=body)
    assert world_of.sandboxes["stripe"].sent_invoices == [], investigation.summary  # not November's in its place
    assert investigation.verdict == "needs_client", investigation.summary
    assert "March" in investigation.reply and "NW-2026-1101" in investigation.reply  # says so, lists what exists
    assert "March" in investigation.escalation_reason


def test_a_named_paid_month_gets_that_invoice_link_not_the_open_one(world_of: Environment) -> None:
    body = "Hi, I never received the invoice for October. Can you send it again please?\nMaria"
    investigation = email_in(world_of, sender=SENDER, subject="invoice missing", body=body)
    assert world_of.sandboxes["stripe"].sent_invoices == [], investigation.summary
    assert investigation.verdict == "auto_resolved", investigation.summary
    assert "NW-2026-1001" in investigation.reply and "NW-2026-1101" not in investigation.reply


def test_a_named_open_month_is_resent(world_of: Environment) -> None:
    body = "Bonjour, je n'ai jamais reçu la facture de novembre. Pouvez-vous la renvoyer ?\nMaria"
    investigation = email_in(world_of, sender=SENDER, subject="facture", body=body)
    assert world_of.sandboxes["stripe"].sent_invoices == ["in_MariaNov"], investigation.summary
    assert investigation.verdict == "auto_resolved", investigation.summary
