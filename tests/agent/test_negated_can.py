""" "No puedo imprimir" reports a problem; it does not ask "¿puedo…?".

Before, the Spanish question cue "puedo" matched inside "no puedo", so a report read as a how-to question, and a how-to
question that asks nothing done goes to the help center before any playbook: once the knowledge threshold was lowered
to 0.33, the MSP eval's "no puedo imprimir nada… la cola de impresión" got a help page instead of the print spooler
restart (msp-printer-spanish). The classification test failed before; the lockout test through the real path (raw
email → triage → engine → Keycloak stand-in → reply) guards that a Spanish report of one's own problem still reaches
the playbook.
"""

from __future__ import annotations

from apps.agent.evals.environment import Environment
from apps.agent.triage import TicketKind, classify
from tests.agent.eval_world import MARIA, email_in, executed, northwind, world_of

__all__ = ["northwind", "world_of"]  # fixtures, from the eval world's module


def test_a_spanish_lockout_report_unlocks_the_requesters_own_account(world_of: Environment) -> None:
    body = "Hola,\nno puedo entrar en Northwind desde esta mañana, dice que mi cuenta está bloqueada.\nGracias, María"
    investigation = email_in(world_of, sender=f"María López <{MARIA}>", subject="no puedo entrar", body=body)
    assert len(world_of.sandboxes["keycloak"].unlocks) == 1, investigation.summary
    assert investigation.decided_by.startswith("playbook:") and executed(investigation)


def test_puedo_still_asks_when_it_is_not_negated() -> None:
    asked = classify("plan", "¿Puedo cambiar de plan a mitad de mes?", flags=[], language="es")
    assert asked.kind is TicketKind.QUESTION
    reported = classify(
        "impresora", "No puedo imprimir nada, los documentos se quedan en la cola.", flags=[], language="es"
    )
    assert reported.kind is not TicketKind.QUESTION or reported.why != "puedo"
