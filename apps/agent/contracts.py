"""The contract between the investigation engine and the ways it can reach a verdict.

An investigation is run by the engine (``apps/agent/loop.py`` and friends), which owns the database rows,
the timeline, the safety gate and the write-back. The deciders — the LLM loop, a YAML playbook, a
knowledge-base answer — only see an ``InvestigationContext``: they read the ticket, search knowledge, call
tools (always through ``apps.safety.enforcement.run_tool``, which the context does for them) and record
timeline steps, then return a ``Finding``. Keeping this seam small is what lets playbooks, evals and the
chat widget reuse the same engine without knowing how steps are stored.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, field
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Protocol

from apps.tickets.gloss import to_english

if TYPE_CHECKING:
    from apps.knowledge.embeddings import EmbeddingProvider


class Verdict(StrEnum):
    AUTO_RESOLVED = "auto_resolved"  # Gaby answered (and, with act autonomy, resolved) it
    NEEDS_TECH = "needs_tech"  # a technician must act: infra, code, hardware
    NEEDS_L2 = "needs_l2"  # beyond L1: escalate to a human support engineer
    NEEDS_CLIENT = "needs_client"  # waiting on the customer: Gaby asked for what it needs
    FAILED = "failed"  # the investigation itself failed (budget, errors, stuck)


class StepKind(StrEnum):
    """Timeline step types (data model: investigation_steps.type)."""

    READ = "read"  # read the ticket or a knowledge passage
    QUERY = "query"  # a read tool call
    ACTION = "action"  # a write tool call (executed, dry run, held for approval or denied)
    VERIFY = "verify"  # checking the effect of an action
    VERDICT = "verdict"


class Tone(StrEnum):
    """SUP-3: how the customer reply sounds."""

    FORMAL = "formal"
    FRIENDLY = "friendly"
    TECHNICAL = "technical"


class Depth(StrEnum):
    """SRE-3: how far an investigation may go."""

    QUICK = "quick"
    STANDARD = "standard"
    DEEP = "deep"


@dataclass(frozen=True)
class Citation:
    """Evidence behind a claim: a knowledge passage, a tool result or the ticket itself."""

    kind: str  # "knowledge" | "tool" | "ticket"
    ref: str  # chunk id, tool action id or ticket id
    label: str  # what a human reads: "Password policy > Resetting" or "keycloak.find_user (step 3)"
    excerpt: str = ""
    url: str = ""

    def as_dict(self) -> dict[str, str]:
        return {"kind": self.kind, "ref": self.ref, "label": self.label, "excerpt": self.excerpt, "url": self.url}


@dataclass(frozen=True)
class TicketView:
    """What a decider may know about the ticket; text fields are untrusted customer input."""

    id: str
    title: str
    body: str
    source_kind: str
    priority: str
    tags: tuple[str, ...] = ()
    contact_email: str = ""
    contact_name: str = ""
    attributes: dict[str, Any] = field(default_factory=dict)  # customer attributes (plan, region, ...)
    # The requester's own words (apps/tickets/reading.py: no signature, quoted history or forwarded headers);
    # None: not read (a view built by hand), so matching reads the whole body.
    request: str | None = None
    language: str = "en"
    # The address an ``email`` entity stands for: the requester's, or a colleague's that an authorized contact named
    # (the engine sets it after reading the ticket); "" falls back to ``contact_email``.
    acts_for: str = ""

    @property
    def text(self) -> str:
        """What matching, extraction and knowledge search read: the title and the requester's own words."""
        own = self.body if self.request is None else self.request
        return f"{self.title}\n\n{own}".strip()

    @functools.cached_property
    def english(self) -> str:
        """``text`` as playbook intents and the English knowledge base read it: the text itself, or its word-for-word
        English gloss when the ticket is written in a language Gaby has a lexicon for (apps/tickets/gloss.py)."""
        return to_english(self.text, self.language)

    @property
    def full_text(self) -> str:
        """Everything the ticket says, quotes and signatures included (evidence for a model, labelled untrusted)."""
        return f"{self.title}\n\n{self.body}".strip()


@dataclass(frozen=True)
class Passage:
    """A knowledge passage found for the ticket, with the citation to give if it is used."""

    text: str
    score: float  # fused retrieval confidence in [0, 1]
    citation: Citation


@dataclass(frozen=True)
class ToolOutcome:
    """What came of a tool call after the safety gate decided."""

    status: str  # apps.safety.models.ActionStatus value
    executed: bool  # the tool really ran (not denied, held or merely previewed)
    is_error: bool
    text: str  # the tool's result text (untrusted), or the reason nothing ran
    data: Any  # the result parsed as JSON when it is JSON, else None
    action_id: str
    citation: Citation


@dataclass
class Finding:
    """A decider's conclusion; the engine stores it, writes back and escalates by autonomy."""

    verdict: Verdict
    summary: str  # internal summary for operators
    reply: str = ""  # the customer reply (empty when there is nothing to say to the customer)
    citations: list[Citation] = field(default_factory=list)
    confidence: float = 0.0
    escalation_reason: str = ""
    is_infra: bool | None = None  # SRE-2: "is this infra?" when the decider looked
    infra_evidence: list[Citation] = field(default_factory=list)
    decided_by: str = ""  # "llm", "playbook:<name>", "knowledge"
    # The decider found no account of the requester's where it looked (a playbook's ``unknown_requester``
    # escalation): nothing of theirs can be acted on, though a question of theirs may still be answered.
    unknown_requester: bool = False


class InvestigationContext(Protocol):
    """What the engine hands a decider. Every tool call goes through the safety gate and is a timeline step."""

    ticket: TicketView
    depth: Depth
    tone: Tone

    @property
    def embedding_provider(self) -> EmbeddingProvider | None:
        """The client's embedding model (playbook intents are matched with it); None: keywords only."""
        ...

    def search_knowledge(self, query: str, *, limit: int = 5) -> list[Passage]: ...

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
        """``connector`` is a connector's kind (``postgres``, ``keycloak``, ...) or its name. ``dry_run``: a write
        only shows what it would do (a playbook's preview step), whatever the gate would otherwise allow."""
        ...

    def record(
        self,
        kind: StepKind,
        *,
        system: str,
        title: str,
        detail: str = "",
        data: Any = None,
        citations: tuple[Citation, ...] = (),
    ) -> None: ...
