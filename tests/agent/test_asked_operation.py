"""A playbook never performs an operation other than the one the ticket asks for.

Through the real path (raw email → engine → Stripe stand-in → gate), in no-LLM mode. The first failed before: Maria
asked for a corrected invoice and the invoice playbook e-mailed her the old one again (a write nobody asked for).
The second guards the rule's edge: asking to have the invoice sent again still sends it.
"""

from __future__ import annotations

from apps.agent.evals.environment import Environment
from tests.agent.eval_world import MARIA, email_in, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module


def test_asking_for_a_corrected_invoice_does_not_resend_the_old_one(world_of: Environment) -> None:
    body = (
        "Our October invoice shows our old company address. Please issue a corrected version of that invoice with our "
        "new address: BrightPath Logistics S.L., Calle de Alcala 120, 28009 Madrid."
    )
    subject = "wrong company name on October invoice"
    investigation = email_in(world_of, sender=f"Maria Lopez <{MARIA}>", subject=subject, body=body)
    assert world_of.sandboxes["stripe"].sent_invoices == [], investigation.summary
    assert not investigation.decided_by.startswith("playbook:"), investigation.summary
    assert investigation.verdict != "auto_resolved", investigation.summary


def test_asking_to_send_the_invoice_again_still_sends_it(world_of: Environment) -> None:
    body = "Hi, we never received the November invoice. Could you send it again please?\n\nMaria"
    investigation = email_in(world_of, sender=f"Maria Lopez <{MARIA}>", subject="November invoice", body=body)
    assert world_of.sandboxes["stripe"].sent_invoices == ["in_MariaNov"], investigation.summary
