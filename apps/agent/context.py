"""The engine's ``InvestigationContext``: what every decider (LLM loop, playbook, knowledge answer) works through.

Each call becomes a timeline step, committed at once (so the page can follow live and a resumed run
keeps what was done). Tool calls go through ``apps.safety.enforcement.run_tool`` with an idempotency
key made of the investigation id, a fingerprint of the call and how many times this run made that same
call before: a worker that dies and is redelivered makes the same calls in the same order, gets the
recorded actions back, and never writes twice.
"""

from __future__ import annotations

import hashlib
import json
import re
import time
from collections import Counter
from collections.abc import Callable
from decimal import Decimal
from functools import cached_property
from typing import TYPE_CHECKING, Any

from django.db import transaction
from django.db.models import Max, Q

from apps.agent.contracts import Citation, Depth, Passage, StepKind, TicketView, Tone, ToolOutcome
from apps.agent.models import AgentSettings, Investigation, InvestigationStep
from apps.agent.runtime import settings_for
from apps.connectors.models import Connector, ConnectorTool
from apps.knowledge import retrieval
from apps.knowledge.embeddings import EmbeddingProvider, get_provider
from apps.llm.models import LLMCall
from apps.safety.enforcement import CallContext, run_tool
from apps.safety.identity import requester_of
from apps.safety.models import ActionStatus, ToolAction
from apps.safety.policy import ToolClass
from apps.safety.requester import AccountBook
from apps.tickets import reading
from apps.tickets.gloss import to_english
from apps.tickets.models import Direction, MessageKind, Ticket
from apps.tickets.reading import ReadTicket

if TYPE_CHECKING:
    from apps.agent.triage import Assessment
    from apps.llm.budget import Budget

MAX_TOOL_TEXT = 20000
RAN = {ActionStatus.DONE, ActionStatus.FAILED, ActionStatus.ROLLED_BACK}
NOT_RUN_ERRORS = {ActionStatus.DENIED, ActionStatus.REJECTED, ActionStatus.EXPIRED}
_WORD = re.compile(r"[^\W\d_]{3,}", re.UNICODE)


def customer_messages(ticket: Ticket) -> tuple[list[str], list[tuple[str, str]]]:
    """The ticket's first message and every later customer message, and (how, words) their HTML hid from the
    reader (apps/core/html_text.py): read in one query, kept apart (the hidden words are not the ticket's)."""
    rows = list(
        ticket.messages.filter(direction=Direction.INBOUND, kind=MessageKind.PUBLIC_REPLY)
        .order_by("id")
        .values_list("body", "hidden_parts")
    )
    bodies = [ticket.body.strip()] + [body.strip() for body, _ in rows[1:] if body.strip()]
    hidden = [(str(part.get("how", "")), str(part.get("text", ""))) for _, parts in rows for part in parts or []]
    return bodies, hidden


def view_of(ticket: Ticket, bodies: list[str]) -> tuple[TicketView, ReadTicket]:
    """The view of a ticket whose customer messages are ``bodies``, and how its first message reads."""
    readings = [reading.read(body, title=ticket.title if index == 0 else "") for index, body in enumerate(bodies)]
    first = readings[0]
    own = [r.matching_text() for r in readings if r.matching_text()]
    contact = ticket.contact
    view = TicketView(
        id=str(ticket.pk),
        title=ticket.title,
        body="\n\n---\n\n".join(b for b in bodies if b),
        source_kind=ticket.source.kind,
        priority=ticket.priority,
        tags=tuple(ticket.tags or ()),
        contact_email=contact.email if contact else "",
        contact_name=contact.name if contact else "",
        request="\n\n".join(own),
        language=first.language,
    )
    return view, first


def passage_confidence(hit: retrieval.Hit, query: str) -> float:
    """A retrieval hit's confidence in [0, 1]: mostly its cosine similarity, partly how many query words it holds.

    Without embeddings (full-text only) the word coverage alone decides.
    """
    words = {w.lower() for w in _WORD.findall(query)}
    coverage = min(1.0, len(hit.explanation.matched_terms) / max(3, len(words))) if words else 0.0
    similarity = hit.explanation.semantic_similarity
    if similarity is None:
        return round(coverage, 4)
    return round(max(0.0, min(1.0, 0.8 * similarity + 0.2 * coverage)), 4)


def call_fingerprint(connector: Connector, tool: str, arguments: dict[str, Any]) -> str:
    canonical = json.dumps(arguments, sort_keys=True, default=str, separators=(",", ":"))
    return hashlib.sha256(f"{connector.pk}\0{tool}\0{canonical}".encode()).hexdigest()[:20]


def outcome_of(action: ToolAction, citation: Citation) -> ToolOutcome:
    status = ActionStatus(action.status)
    if status == ActionStatus.RUNNING:
        text = "This call was started before the worker stopped; its result is unknown, so it is not repeated."
    elif status == ActionStatus.AWAITING_APPROVAL:
        text = f"Waiting for a person's approval: {action.reason}"
    elif action.result_text:
        text = action.result_text
    else:
        text = action.reason
    try:
        data = json.loads(action.result_text) if action.result_text else None
    except ValueError:
        data = None
    is_error = action.result_is_error or status in NOT_RUN_ERRORS or status == ActionStatus.RUNNING
    return ToolOutcome(
        status=str(status),
        executed=status in RAN,
        is_error=is_error,
        text=text[:MAX_TOOL_TEXT],
        data=data,
        action_id=str(action.pk),
        citation=citation,
    )


class RunContext:
    """One attempt of one investigation. Not shared between threads."""

    def __init__(
        self,
        investigation: Investigation,
        *,
        source_autonomy: str | None = None,
        on_step: Callable[[InvestigationStep], None] | None = None,
        fresh: bool = False,
    ) -> None:
        """Tool calls are limited by the ticket's source (the gate reads its autonomy) and, when given, by an
        extra ``source_autonomy`` (a caller without a source row). ``fresh``: the engine's first attempt, so
        nothing is on the timeline yet (a resumed or second context continues after the last recorded step)."""
        self.investigation = investigation
        ticket = investigation.ticket
        self.ticket: TicketView
        bodies, hidden = customer_messages(ticket)
        self.ticket, self.reading = view_of(ticket, bodies)
        self.hidden = hidden  # for the suspicion check only (apps/agent/guards.py), never a decider's input
        # Who asks (the channel's identity) and what this run learns about whose records its results hold: the
        # safety gate checks every call's arguments against it (apps/safety/requester.py).
        self.accounts = AccountBook(requester_of(ticket))
        self.suspicion = ""  # set once the ticket is assessed: the gate holds every write of a flagged ticket
        self.assessment: Assessment | None = None  # how the ticket was read (apps/agent/guards.py)
        self.depth = Depth(investigation.depth)
        self.tone = Tone(investigation.tone)
        self.source_autonomy = source_autonomy
        self.on_step = on_step
        self.fresh = fresh
        self.budget: Budget | None = None  # the LLM decider's, when it ran
        self.seen: dict[str, Citation] = {}  # every citation a decider was shown: what a verdict may cite
        self._occurrences: Counter[str] = Counter()
        last = None if fresh else investigation.steps.aggregate(last=Max("ordinal"))["last"]
        self._ordinal = int(last or 0)

    @cached_property
    def agent_settings(self) -> AgentSettings:
        """The client's investigation settings, read once for the whole run."""
        return settings_for()

    def spent(self) -> tuple[int, Decimal] | None:
        """Tokens and dollars of this run's model calls when this run made them all (a fresh run), else None."""
        if not self.fresh:
            return None  # an earlier attempt may have spent some: the caller reads the recorded calls
        return self.budget.spent() if self.budget is not None else (0, Decimal(0))

    @cached_property
    def embedding_provider(self) -> EmbeddingProvider:
        """The client's embedding model, looked up once for the whole run (playbook matching, knowledge search)."""
        return get_provider()

    # --- InvestigationContext -----------------------------------------------------------------
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
        self.record_step(kind, system=system, title=title, detail=detail, data=data, citations=citations)

    def search_knowledge(self, query: str, *, limit: int = 5) -> list[Passage]:
        started = time.monotonic()
        # The knowledge base is English: a German, French or Spanish query is searched by its English gloss.
        query = to_english(query.strip(), self.ticket.language)[: retrieval.TICKET_MAX_CHARS]
        try:
            result = retrieval.search(
                query, limit=limit, provider=self.embedding_provider, max_chars=retrieval.TICKET_MAX_CHARS
            )
        except retrieval.QueryError as exc:
            self.record_step(StepKind.READ, system="knowledge", title="Knowledge search skipped", detail=str(exc))
            return []
        passages = []
        for hit in result.hits:
            citation = Citation(
                kind="knowledge",
                ref=str(hit.chunk_id),
                label=hit.citation.label,
                excerpt=hit.text[:300],
                url=hit.citation.source_url,
            )
            passages.append(Passage(text=hit.text, score=passage_confidence(hit, query), citation=citation))
        passages.sort(key=lambda p: -p.score)
        for passage in passages:
            self.seen[passage.citation.ref] = passage.citation
        title = f"Searched knowledge: {len(passages)} passage{'s' if len(passages) != 1 else ''}"
        data = {
            "query": query[:300],
            "mode": result.mode,
            "hits": [{"label": p.citation.label, "score": p.score} for p in passages],
        }
        self.record_step(
            StepKind.READ,
            system="knowledge",
            title=title,
            data=data,
            citations=tuple(p.citation for p in passages),
            started=started,
        )
        return passages

    def call_tool(
        self,
        connector: str,
        tool: str,
        arguments: dict[str, Any],
        *,
        purpose: str,
        llm_call: LLMCall | None = None,
        loaded: ConnectorTool | None = None,
        human_asked: str = "",
        dry_run: bool = False,
    ) -> ToolOutcome:
        """``llm_call`` (engine-only): the model call that asked for it, linked on the step. ``loaded``: the tool's
        row with its connector, when the caller already read it (the model's tool list): neither is read again.
        ``human_asked``: why the call must wait for a person (a proposed step); the gate holds it for approval,
        or says why it cannot. ``dry_run``: a write only shows what it would send (a playbook's preview step)."""
        started = time.monotonic()
        if loaded is not None and loaded.name == tool and loaded.connector.name == connector:
            target: Connector | None = loaded.connector
        else:
            target, loaded = resolve_connector(connector), None
        if target is None:
            ordinal = self.record_step(
                StepKind.QUERY,
                system=connector,
                title=f"{connector}: {tool} unavailable",
                detail=f"No enabled connector is named {connector!r} or of that kind.",
                data={"arguments": arguments},
                llm_call=llm_call,
            )
            citation = Citation(kind="tool", ref=f"missing:{connector}", label=f"{connector}.{tool} (step {ordinal})")
            return ToolOutcome(
                status="unavailable",
                executed=False,
                is_error=True,
                data=None,
                action_id="",
                text=f"No enabled connector {connector!r}: the call was not made.",
                citation=citation,
            )
        fingerprint = call_fingerprint(target, tool, arguments)
        self._occurrences[fingerprint] += 1
        key = f"inv:{self.investigation.pk}:{fingerprint}:{self._occurrences[fingerprint]}"
        action = run_tool(
            connector=target,
            tool_name=tool,
            tool=loaded,
            arguments=arguments,
            context=CallContext(
                idempotency_key=key,
                purpose=purpose[:300],
                source=self.investigation.ticket.source,
                source_autonomy=self.source_autonomy,
                accounts=self.accounts,
                suspicion=self.suspicion,
                human_asked=human_asked,
                dry_run=dry_run,
            ),
        )
        ordinal = self._ordinal + 1
        citation = Citation(
            kind="tool",
            ref=str(action.pk),
            label=f"{target.name}.{tool} (step {ordinal})",
            excerpt=(action.result_text or action.reason)[:300],
        )
        outcome = outcome_of(action, citation)
        kind = StepKind.QUERY if action.access == ToolClass.READ else StepKind.ACTION
        self.record_step(
            kind,
            system=target.name,
            title=f"{target.name}: {tool}",
            detail=f"{purpose} — {ActionStatus(action.status).label}" if purpose else ActionStatus(action.status).label,
            data={
                "arguments": arguments,
                "status": outcome.status,
                "decision": action.reason,
                "result": outcome.text[:4000],
                "is_error": outcome.is_error,
            },
            citations=(citation,),
            action=action,
            llm_call=llm_call,
            started=started,
        )
        self.seen[citation.ref] = citation
        return outcome

    # --- engine-only --------------------------------------------------------------------------
    def record_step(
        self,
        kind: StepKind,
        *,
        system: str,
        title: str,
        detail: str = "",
        data: Any = None,
        citations: tuple[Citation, ...] = (),
        action: ToolAction | None = None,
        llm_call: LLMCall | None = None,
        started: float | None = None,
    ) -> int:
        self._ordinal += 1
        step = InvestigationStep.objects.create(
            investigation=self.investigation,
            ordinal=self._ordinal,
            kind=str(kind),
            system=system[:100],
            title=title[:300],
            detail=detail,
            data=_jsonable(data),
            citations=[c.as_dict() for c in citations],
            action=action,
            llm_call=llm_call,
            duration_ms=int((time.monotonic() - started) * 1000) if started is not None else 0,
        )
        if self.on_step is not None:
            on_step = self.on_step
            transaction.on_commit(lambda: on_step(step))  # immediate in the engine's autocommit
        return self._ordinal


def resolve_connector(reference: str) -> Connector | None:
    """A connector by its name, else the first (by name) of that kind; only enabled ones."""
    usable = Connector.objects.filter(enabled=True).exclude(status="disabled")
    return usable.filter(name=reference).first() or usable.filter(Q(kind=reference)).order_by("name").first()


def _jsonable(value: Any) -> Any:
    if value is None:
        return None
    return json.loads(json.dumps(value, default=str))
