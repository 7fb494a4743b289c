"""The playbook schema: what a playbook is once its YAML has been read, as frozen dataclasses.

parsing.py reads and validates the YAML into these in one pass (``parse``); a playbook that does not validate
raises ``PlaybookInvalid`` with every ``Problem`` at once, and is never used, and never silently: loaders
report it (docs/agent/playbooks.md).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

from apps.agent.contracts import Tone, Verdict
from apps.agent.playbooks.entities import EntitySpec

NAME = re.compile(r"^[a-z][a-z0-9_-]{1,79}$")
STEP_ID = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
TONES = tuple(tone.value for tone in Tone)
# Escalations every playbook has; a playbook may redefine any of them (apps/agent/playbooks/escalations.py).
BUILTIN_ESCALATIONS = ("missing_entity", "denied", "held", "dry_run", "tool_error", "verify_failed", "approval")
MAX_YAML = 64_000


@dataclass(frozen=True)
class Problem:
    source: str
    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.source}: {self.field}: {self.message}"


class PlaybookInvalid(ValueError):
    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("; ".join(str(p) for p in problems))


@dataclass(frozen=True)
class MatchRules:
    threshold: float = 0.55
    keywords: tuple[str, ...] = ()
    patterns: tuple[str, ...] = ()
    require_any: tuple[str, ...] = ()
    exclude: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    priorities: tuple[str, ...] = ()
    attributes: dict[str, tuple[str, ...]] = field(default_factory=dict)
    questions: bool = False  # also take general how-to questions (default: leave them to the knowledge base)


@dataclass(frozen=True)
class Branch:
    when: str
    goto: str = ""
    escalate: str = ""
    resolve: str = ""


@dataclass(frozen=True)
class Step:
    id: str
    connector: str
    tool: str
    args: dict[str, Any]
    purpose: str
    when: str = ""  # run the step only if this expression holds
    verify: str = ""  # a verify step: this expression must hold on its result
    propose: bool = False  # never call: propose the call to a human (e.g. refunds)
    preview: bool = False  # always a dry run: what the write would send, for the person who decides (never applied)
    branches: tuple[Branch, ...] = ()


@dataclass(frozen=True)
class Reply:
    """One reply in each tone (SUP-3); ``default`` stands in for a tone that is not written out."""

    by_tone: dict[str, str]

    def for_tone(self, tone: str) -> str:
        return self.by_tone.get(tone) or self.by_tone.get("default") or self.by_tone[next(iter(self.by_tone))]


@dataclass(frozen=True)
class Escalation:
    name: str
    verdict: Verdict
    reason: str  # a template: the internal reason operators read
    reply: Reply | None = None
    # The requester has no account in the system the playbook looked in: nothing of theirs can be acted on, so a
    # question in the ticket may still be answered from the knowledge base (apps/agent/engine.py).
    unknown_requester: bool = False


@dataclass(frozen=True)
class Playbook:
    name: str
    version: int
    description: str
    intent: tuple[str, ...]
    match: MatchRules
    entities: tuple[EntitySpec, ...]
    steps: tuple[Step, ...]
    replies: dict[str, Reply]
    escalations: dict[str, Escalation]
    summary: str = ""
    confidence: float = 0.8
    # Near misses: phrasings that share the intent's words but are not its problem (usually how-to questions the
    # knowledge base answers). A ticket closer to one of these than to every intent phrasing is ruled out.
    not_intent: tuple[str, ...] = ()
    source: str = ""  # "library/keycloak_password_reset.yaml" or "client:<name>"
    text: str = ""  # the YAML it came from

    @property
    def connectors(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(step.connector for step in self.steps))
