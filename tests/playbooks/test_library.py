"""The shipped library, table-driven: every playbook validates, uses real tool names, renders in every tone,
and each of its example phrasings picks it — and no other playbook — with embeddings and without."""

from __future__ import annotations

import pytest

from apps.agent.contracts import Tone
from apps.agent.playbooks import templating
from apps.agent.playbooks.library import LIBRARY_DIR, shipped
from apps.agent.playbooks.matching import score_all
from apps.agent.playbooks.schema import Playbook
from apps.knowledge.embeddings import provider_for
from tests.connectors.vendors import M365_READS, M365_WRITES
from tests.playbooks.harness import ticket

ENTRIES = shipped()
PLAYBOOKS = [entry.playbook for entry in ENTRIES if entry.playbook is not None]
# The first-party connectors' tools (apps/connectors/servers/*): a playbook naming another tool is a typo.
TOOLS = {
    "keycloak": {
        "find_user",
        "get_user",
        "list_sessions",
        "credential_status",
        "send_password_reset",
        "logout_sessions",
        "set_user_enabled",
        "unlock_user",
    },
    "stripe": {
        "find_customer",
        "get_customer",
        "list_subscriptions",
        "list_invoices",
        "list_charges",
        "list_payment_intents",
        "refund",
        "resend_invoice",
        "retry_invoice_payment",
    },
    "postgres": {"query", "list_tables", "describe_table"},
    "microsoft365": set(M365_READS | M365_WRITES),
    "ninjaone": {
        "find_device",
        "device_health",
        "list_alerts",
        "list_services",
        "restart_service",
        "reset_alert",
        "run_script",
        "run_allowed_script",
        "script_status",
        "list_scripts",
    },
}
PHRASES = [(playbook.name, phrase) for playbook in PLAYBOOKS for phrase in playbook.intent]
# A client's users sign in with one identity system: "I forgot my password" is Keycloak's reset for a SaaS and
# Entra ID's for an MSP's client, and the decider rules out the playbooks whose connector the client lacks
# (apps/agent/playbooks/decider.py) before it settles. So a phrasing need not beat the other system's twin.
IDENTITY = {"keycloak", "microsoft365"}


def _alongside(name: str) -> list[Playbook]:
    """The playbooks a client running ``name`` can have: not those of the other identity system."""
    own = {c for p in PLAYBOOKS if p.name == name for c in p.connectors}
    rivals = IDENTITY - own if own & IDENTITY else set()
    return [p for p in PLAYBOOKS if not set(p.connectors) & rivals]


def test_every_shipped_file_validates_and_there_are_at_least_ten() -> None:
    assert [str(p) for entry in ENTRIES for p in entry.problems] == []
    assert len(PLAYBOOKS) == len(list(LIBRARY_DIR.glob("*.yaml"))) >= 10
    assert len({p.name for p in PLAYBOOKS}) == len(PLAYBOOKS)


@pytest.mark.parametrize("playbook", PLAYBOOKS, ids=lambda p: p.name)
def test_steps_name_real_tools_and_replies_render_in_every_tone(playbook: object) -> None:

    assert isinstance(playbook, Playbook)
    for step in playbook.steps:
        assert step.tool in TOOLS[step.connector], f"{playbook.name}: {step.connector}.{step.tool}"
    scope = {"ticket": {"contact_name": "Dana"}, "entities": {}, "steps": {}, "cite": lambda _: "[1]"}
    for name, reply in playbook.replies.items():
        for tone in Tone:
            assert templating.render(reply.for_tone(tone), scope), f"{playbook.name}: replies.{name} ({tone})"


@pytest.mark.parametrize("embeddings", ["local", "none"])
@pytest.mark.parametrize(("name", "phrase"), PHRASES)
def test_each_example_phrasing_matches_its_playbook_and_no_other(name: str, phrase: str, embeddings: str) -> None:
    matches = score_all(_alongside(name), ticket(phrase), provider=provider_for(embeddings))
    assert matches[0].name == name and matches[0].matched, [(m.name, m.score, m.reasons) for m in matches[:2]]
    assert [m.name for m in matches if m.matched] == [name]
