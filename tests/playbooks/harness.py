"""A real InvestigationContext for tests: every tool call goes through apps.safety.enforcement.run_tool.

Nothing is faked: the connector is a real MCP server (the PostgreSQL connector, tests/safety/ledger_server.py),
the gate decides with the client's real autonomy, rules and threshold, and the ToolAction rows, audit events
and approvals are the ones production writes. This is what the investigation engine does for a decider, with
the timeline kept in a list instead of database rows.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from apps.agent.contracts import Citation, Depth, Passage, StepKind, TicketView, Tone, ToolOutcome
from apps.connectors.models import Connector
from apps.core.ids import uuid7
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.requester import AccountBook

RAN = {ActionStatus.DONE, ActionStatus.FAILED}


@dataclass
class Recorded:
    kind: StepKind
    system: str
    title: str
    detail: str = ""
    data: Any = None
    citations: tuple[Citation, ...] = ()


@dataclass
class GateContext:
    ticket: TicketView
    tone: Tone = Tone.FRIENDLY
    depth: Depth = Depth.STANDARD
    source_autonomy: str | None = None
    run_id: str = field(default_factory=lambda: uuid7().hex)
    timeline: list[Recorded] = field(default_factory=list)
    actions: list[ToolAction] = field(default_factory=list)
    embedding_provider: None = None  # playbooks are matched by their keywords here
    # The run's account book, as the engine keeps one (apps/agent/context.py): with it the gate tells a call on the
    # requester's account from one on somebody else's, and a test can run the reply check on the Finding.
    accounts: AccountBook | None = None

    def search_knowledge(self, query: str, *, limit: int = 5) -> list[Passage]:
        return []

    def call_tool(
        self,
        connector: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        purpose: str,
        human_asked: str = "",
        dry_run: bool = False,
    ) -> ToolOutcome:
        row = Connector.objects.filter(Q(kind=connector) | Q(name=connector)).order_by("name").first()
        if row is None:
            raise LookupError(f"No connector {connector!r} for this client.")
        number = len(self.actions) + 1
        action = run_tool(
            connector=row,
            tool_name=tool,
            arguments=arguments,
            context=CallContext(
                idempotency_key=f"{self.run_id}:{number}",
                purpose=purpose,
                source_autonomy=self.source_autonomy,
                human_asked=human_asked,
                dry_run=dry_run,
                accounts=self.accounts,
            ),
        )
        self.actions.append(action)
        executed = action.status in RAN and not (action.status == ActionStatus.FAILED and not action.executed_at)
        text = action.result_text if action.status in RAN | {ActionStatus.DRY_RUN} else action.reason
        try:
            data = json.loads(action.result_text) if action.result_text else None
        except json.JSONDecodeError:
            data = None
        citation = Citation(
            kind="tool", ref=str(action.pk), label=f"{row.name}.{tool} (step {number})", excerpt=text[:200]
        )
        self.record(
            StepKind.QUERY if action.access == "read" else StepKind.ACTION,
            system=row.name,
            title=f"{tool}: {action.get_status_display()}",
            data=arguments,
            citations=(citation,),
        )
        return ToolOutcome(
            status=str(action.status),
            executed=executed,
            is_error=action.result_is_error or action.status == ActionStatus.FAILED,
            text=text,
            data=data,
            action_id=str(action.pk),
            citation=citation,
        )

    def record(
        self,
        kind: StepKind,
        *,
        system: str,
        title: str,
        detail: str = "",
        data: Any = None,
        citations: tuple[Citation, ...] = (),
    ) -> None:
        self.timeline.append(Recorded(kind, system, title, detail, data, citations))

    def titles(self) -> list[str]:
        return [step.title for step in self.timeline]


def ticket(title: str, body: str = "", **fields: Any) -> TicketView:
    defaults: dict[str, Any] = {
        "id": uuid7().hex,
        "source_kind": "email",
        "priority": "normal",
        "contact_email": "",
        "contact_name": "",
    }
    return TicketView(title=title, body=body, **{**defaults, **fields})


def decide_as(title: str, body: str, *, email: str, name: str, **fields: Any) -> tuple[Any, GateContext]:
    """The playbooks' decision on a ticket from ``email``, with the account book the engine keeps (the gate knows
    whose accounts the calls name, and the reply can be checked); ``fields``: more of the ticket's (``acts_for``)."""
    from apps.agent import playbooks
    from apps.safety.identity import is_authorized_contact
    from apps.safety.requester import Requester

    requester = Requester(email=email, name=name, authorized_for_others=is_authorized_contact(email))
    view = ticket(title, body, contact_email=email, contact_name=name, **fields)
    context = GateContext(view, accounts=AccountBook(requester))
    return playbooks.decide(context), context
