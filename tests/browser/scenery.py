"""Committed rows in Hartwell that give the accessibility scan's pages something to show (test_accessibility.py):
a ticket with its investigation, more tickets in other states, a quarantined payload, a connector with an action
waiting for approval, a widget with a conversation an operator took over, a synced knowledge source, a KB
candidate, an LLM provider, a webhook endpoint and an API key. Committed, so the browser's server (another
process) sees them; removed afterwards with the audit events they wrote.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from tests.agent.committed import _drop_audit_tail, _last_audit
from tests.browser.test_chat import HostSite
from tests.knowledge.conftest import RUNBOOKS, write_tree

HOOK = "https://hooks.example.com/gaby"


@dataclass
class Scenery:
    """Committed rows in Hartwell that give the pages something to show."""

    ticket: Any
    investigation: Any
    connector: Any
    conversation: Any
    widget: Any
    document: Any
    provider: Any


@pytest.fixture(scope="module")
def customer_site() -> Iterator[HostSite]:
    """A customer's website (its own origin, on this machine) that embeds the chat widget."""
    site = HostSite()
    yield site
    site.server.shutdown()


@pytest.fixture(scope="module")
def scenery(world: Any, django_db_blocker: Any, tmp_path_factory: Any, customer_site: HostSite) -> Iterator[Scenery]:
    from apps.agent.models import Investigation, InvestigationStatus, InvestigationStep
    from apps.apikeys.services import create_key
    from apps.chat import services as chat
    from apps.chat.widgets import Identity, create_widget
    from apps.connectors.models import Access, Connector, ConnectorTool, Kind, Transport
    from apps.core.secrets import seal
    from apps.knowledge.candidates import propose_candidate
    from apps.knowledge.embeddings import provider_for
    from apps.knowledge.models import Document, SourceKind
    from apps.knowledge.services import create_source as create_kb_source
    from apps.knowledge.services import sync_now
    from apps.llm.services import save_provider
    from apps.safety.models import ActionStatus, ToolAction
    from apps.tickets import services as tickets
    from apps.tickets.models import Ticket
    from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket
    from apps.tickets.outbound.models import WebhookEndpoint

    hartwell, alice = world.clients["hartwell"], world.people["alice"]
    root = write_tree(Path(tmp_path_factory.mktemp("a11y")) / "runbooks", RUNBOOKS)
    with django_db_blocker.unblock():
        marks = {schema: _last_audit(schema) for schema in (hartwell.schema_name, "public")}
        try:
            with tenant_context(hartwell):
                source = tickets.create_source(client=hartwell, kind="webhook", name="A11y portal", config={})
                body = "Hi, since this morning the VPN drops every hour. Can you help?"
                ticket = tickets.ingest_ticket(
                    source=source,
                    normalized=NormalizedTicket(
                        external_id="A11Y-1",
                        title="VPN drops every hour",
                        body=body,
                        contact=NormalizedContact(email="dana@example.com", name="Dana"),
                        messages=(NormalizedMessage(external_id="A11Y-1-m1", body=body),),
                    ),
                ).ticket
                # The inbox's other looks: an urgent ticket past its SLA, a solved one, a payload in quarantine.
                for n, (priority, status, due) in enumerate((("urgent", "open", -2), ("low", "solved", 48)), start=2):
                    text = f"Printer {n} is offline"
                    extra = tickets.ingest_ticket(
                        source=source,
                        normalized=NormalizedTicket(
                            external_id=f"A11Y-{n}",
                            title=text,
                            body=text,
                            contact=NormalizedContact(email="dana@example.com", name="Dana"),
                            messages=(NormalizedMessage(external_id=f"A11Y-{n}-m1", body=text),),
                        ),
                    ).ticket
                    Ticket.objects.filter(pk=extra.pk).update(
                        priority=priority, status=status, sla_due_at=timezone.now() + timedelta(hours=due)
                    )
                tickets.quarantine(source=source, raw="{not json", error="Expecting property name: line 1 column 2")
                citation = {"kind": "knowledge", "ref": "c1", "label": "VPN runbook > Tunnel", "excerpt": "", "url": ""}
                investigation = Investigation.objects.create(
                    ticket=ticket,
                    status=InvestigationStatus.DONE,
                    verdict="auto_resolved",
                    confidence=0.82,
                    decided_by="knowledge",
                    summary="Answered from the VPN runbook.",
                    reply="Raise the DHCP lease time on the firewall [1].",
                    reply_state="drafted",
                    citations=[citation],
                    autonomy="propose",
                )
                InvestigationStep.objects.create(
                    investigation=investigation, ordinal=1, kind="read", system="ticket", title="Read the ticket"
                )
                InvestigationStep.objects.create(
                    investigation=investigation,
                    ordinal=2,
                    kind="read",
                    system="knowledge",
                    title="Found 1 passage",
                    citations=[citation],
                )
                connector = Connector.objects.create(
                    kind=Kind.MCP_STDIO, name="A11y ledger", transport=Transport.STDIO, command="ledger-mcp"
                )
                ConnectorTool.objects.create(
                    connector=connector, name="credit", title="Credit an account", access=Access.WRITE, input_schema={}
                )
                ToolAction.objects.create(
                    idempotency_key="a11y-1",
                    connector=connector,
                    tool_name="credit",
                    arguments={"account": "acme", "amount": 1},
                    access="write",
                    actor_kind="agent",
                    purpose="refund for ticket #12",
                    outcome="needs_approval",
                    reason="Writes wait for a human at this autonomy.",
                    risk=40,
                    status=ActionStatus.AWAITING_APPROVAL,
                )
                widget = create_widget(
                    client=hartwell,
                    changes={
                        "name": "A11y site",
                        "allowed_origins": [customer_site.origin],
                        "persona_name": "Hartwell Helper",
                    },
                )
                conversation, _ = chat.start_conversation(
                    widget=widget, identity=Identity(email="eve@example.com", name="Eve"), origin=customer_site.origin
                )
                chat.post_visitor_message(conversation=conversation, body="How do I reset my VPN password?")
                chat.post_gaby_message(conversation=conversation, body="Open the self-service page.", confidence=0.4)
                chat.take_over(conversation=conversation, user=alice)
                kb = create_kb_source(
                    kind=SourceKind.DIRECTORY, name="A11y runbooks", config={"path": str(root)}, server_paths=True
                )
                sync_now(source=kb, provider=provider_for("none"))
                document = Document.objects.filter(source=kb).first()
                propose_candidate(title="Tunnel drops", body="Raise the DHCP lease time.", origin_kind="correction")
                provider = save_provider(
                    client=hartwell, name="A11y OpenAI", kind="openai", credentials={"api_key": "x"}
                )
                endpoint = WebhookEndpoint(url=HOOK, events=["ticket.created"])
                endpoint.sealed_secret = seal(hartwell, "whsec_a11y", purpose=endpoint.secret_purpose)
                endpoint.save()
                create_key(name="A11y CRM sync", role="agent", actor=alice)
        except BaseException:
            _clear(hartwell, marks)
            raise
    yield Scenery(ticket, investigation, connector, conversation, widget, document, provider)
    with django_db_blocker.unblock():
        _clear(hartwell, marks)


def _clear(hartwell: Any, marks: dict[str, int]) -> None:
    """Remove what ``scenery`` made (by name, so a half-made scenery goes too) and the audit events it wrote."""
    from apps.apikeys.models import ApiKey
    from apps.chat.models import Widget
    from apps.connectors.models import Connector
    from apps.knowledge.models import KBCandidate, KnowledgeSource
    from apps.llm.models import LLMProvider
    from apps.safety.models import ToolAction
    from apps.tickets.models import Contact, Ticket, TicketSource
    from apps.tickets.outbound.models import WebhookEndpoint
    from tests.chat.conftest import clear_conversations

    clear_conversations(hartwell)
    with tenant_context(hartwell):
        Widget.objects.filter(name="A11y site").delete()
        Ticket.objects.filter(source__name="A11y portal").delete()
        Contact.objects.filter(email="dana@example.com").delete()
        TicketSource.objects.filter(name="A11y portal").delete()
        ToolAction.objects.filter(connector__name="A11y ledger").delete()
        Connector.objects.filter(name="A11y ledger").delete()
        for kb in KnowledgeSource.objects.filter(name="A11y runbooks"):
            kb.delete()
        # Its own candidate, and the one a journey's edited draft proposes (titled after the ticket it answered).
        KBCandidate.objects.filter(title__in=["Tunnel drops", "VPN drops every hour"]).delete()
        LLMProvider.objects.filter(name="A11y OpenAI").delete()
        WebhookEndpoint.objects.filter(url=HOOK).delete()
        ApiKey.objects.filter(name="A11y CRM sync").delete()
    for schema, mark in marks.items():
        _drop_audit_tail(schema, mark)
