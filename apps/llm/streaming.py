"""A streamed model call whose stream is read on an event loop: the driver ``LLMGateway.streaming`` returns."""

from __future__ import annotations

import functools
from collections.abc import Awaitable, Callable
from typing import Any

from apps.llm import calling
from apps.llm.responses import Outcome
from apps.llm.steps import LLMResult, ModelCall, Steps, advance


class Streaming:
    """A streamed model call whose stream is read on an event loop (``LLMGateway.streaming``).

    ``start()`` runs the gateway's steps up to the first model call, synchronously, where the database is
    usable (in a thread, in the client's schema): it raises ``NoModelConfigured``, ``BudgetExceeded`` or
    ``ProviderNotAllowed`` as ``complete`` would, before anything is sent. Then ``await finish(...)`` on
    the loop reads the stream, awaiting ``on_token`` for each piece of text; every later stretch of steps
    (the record of an attempt, a retry, a fallback) goes through ``run_sync``, which runs a function
    where the database is usable. A caller may run ``start`` in a database stretch of its own, before the
    model is needed, to save a trip to a thread.
    """

    def __init__(self, steps: Steps) -> None:
        self.steps = steps
        self.step: ModelCall | LLMResult | None = None

    def start(self) -> None:
        if self.step is None:
            self.step = advance(self.steps, None)

    async def finish(
        self,
        *,
        run_sync: Callable[[Callable[[], Any]], Awaitable[Any]],
        on_token: Callable[[str], Awaitable[None]] | None = None,
    ) -> LLMResult:
        if self.step is None:
            await run_sync(self.start)
        step = self.step
        while not isinstance(step, LLMResult):
            assert step is not None
            outcome: Outcome | Exception
            try:
                outcome = await calling.acall(step, on_token)
            except Exception as exc:  # handled by the steps as if raised there (retry, next model, or out)
                outcome = exc
            step = await run_sync(functools.partial(advance, self.steps, outcome))
        return step
