"""The gateway's steps as data: what one model call needs, and how a driver advances the steps between calls.

``LLMGateway`` writes its steps (route, compliance, redaction, budget, retries, fallbacks, records) as one
generator that yields a ``ModelCall`` each time it needs the network and receives the call's ``Outcome``
(or the exception it raised) back. A driver owns the waiting: ``LLMGateway.complete`` calls the model in
the same thread (calling.py), ``Streaming`` (streaming.py) on the caller's event loop.
"""

from __future__ import annotations

from collections.abc import Generator, Sequence
from dataclasses import dataclass, field
from typing import Any

from apps.core.redaction import Vault
from apps.llm.budget import Budget
from apps.llm.models import LLMCall, LLMProvider, ModelRoute
from apps.llm.prompts import Prompt
from apps.llm.responses import Outcome


@dataclass
class LLMResult:
    text: str
    tool_calls: list[dict[str, Any]]
    call: LLMCall
    vault: Vault

    def restored(self) -> str:
        """The answer with personal data put back, for the person who gave it."""
        return self.vault.restore(self.text)


@dataclass
class Target:
    provider: LLMProvider
    model: str


@dataclass
class Request:
    workflow: str
    prompt: Prompt
    messages: list[dict[str, Any]]
    tools: Sequence[dict[str, Any]] | None
    budget: Budget
    route: ModelRoute
    stream: bool
    max_attempts: int
    notes: list[str] = field(default_factory=list)


@dataclass
class ModelCall:
    """The one step of ``complete`` that waits on the network: an attempt at one model, with its arguments
    (credentials unsealed) ready. The gateway's other steps (route, redaction, budget, records) yield it
    to a driver: ``complete`` calls the model in the same thread, ``Streaming`` on the caller's event loop."""

    request: Request
    target: Target
    arguments: dict[str, Any]


Steps = Generator[ModelCall, Outcome, LLMResult]


def advance(steps: Steps, outcome: Outcome | Exception | None) -> ModelCall | LLMResult:
    """The gateway's steps up to the next model call (or the result), given the last call's outcome."""
    try:
        if isinstance(outcome, Exception):
            return steps.throw(outcome)  # raised where the call was yielded: the same handling as a direct call
        return next(steps) if outcome is None else steps.send(outcome)
    except StopIteration as done:
        return done.value
