"""What a model call may spend (LLM-5) and how it fails: the types the gateway's callers hold."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db.models import Sum

from apps.llm.models import LLMCall


class LLMError(Exception):
    """A model could not give an answer; the message says why, for the investigation's timeline."""


class NoModelConfigured(LLMError):
    pass


class BudgetExceeded(LLMError):
    pass


class QuotaExceeded(BudgetExceeded):
    """The client's monthly plan cap is reached (apps/llm/quota.py): the same hard stop as a spent budget."""


class ProviderNotAllowed(LLMError):
    pass


@dataclass(frozen=True)
class Budget:
    """LLM-5: the most an investigation may spend; None means no limit on that axis.

    What was spent is read from the recorded calls the first time it is asked, then kept up to date by the
    gateway as it records each call under this key: one query per budget instead of one per model call.
    """

    key: str
    max_tokens: int | None = None
    max_usd: Decimal | None = None
    requested_by: str = ""  # who the calls are for, recorded on each (LLMCall.requested_by)
    _tally: list[Any] = field(default_factory=list, init=False, compare=False, repr=False)  # [tokens, usd]

    def spent(self) -> tuple[int, Decimal]:
        if not self._tally:
            totals = LLMCall.objects.filter(budget_key=self.key).aggregate(
                tokens=Sum("input_tokens") + Sum("output_tokens"), usd=Sum("cost_usd")
            )
            self._tally.extend([int(totals["tokens"] or 0), Decimal(totals["usd"] or 0)])
        return self._tally[0], self._tally[1]

    def start_empty(self) -> None:
        """Nothing was spent under this key yet (a fresh investigation's first run): no query to find that out."""
        if not self._tally:
            self._tally.extend([0, Decimal(0)])

    def add(self, tokens: int, usd: Decimal) -> None:
        """A call recorded under this key (before the first read there is nothing to add: the read counts it)."""
        if self._tally:
            self._tally[0] += tokens
            self._tally[1] += usd


@dataclass(frozen=True)
class Untrusted:
    """Text that came from a customer or a system: shown to the model as data, never as instructions."""

    source: str  # e.g. "ticket", "tool:postgres.query", "knowledge"
    text: str
