"""What a model's response adds up to, as the LLM gateway records it: text, tool calls, usage and cost.

A blocking response and a stream (blocking or asynchronous) are read the same way; prices come from litellm,
and a model it has no price for (a local one) costs nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import litellm

Outcome = tuple[str, list[dict[str, Any]], dict[str, int], Decimal]  # text, tool calls, usage, cost


class StreamReader:
    """What a streamed answer adds up to, chunk by chunk: the same for a blocking and an asynchronous stream."""

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.pieces: list[str] = []
        self.usage: Any = None
        self.tool_call_deltas = False

    def text_of(self, chunk: Any) -> str:
        """The chunk's text (empty when it carries none)."""
        self.chunks.append(chunk)
        self.usage = getattr(chunk, "usage", None) or self.usage
        delta = chunk.choices[0].delta if chunk.choices else None
        if delta is None:
            return ""
        self.tool_call_deltas = self.tool_call_deltas or bool(getattr(delta, "tool_calls", None))
        if delta.content:
            self.pieces.append(delta.content)
            return str(delta.content)
        return ""

    def outcome(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        """The answer's text, tool calls, usage and cost (``model`` as litellm names it: ``provider/model``)."""
        if self.usage is not None and not self.tool_call_deltas:
            # Text only, with the usage the stream reported: rebuilding the whole response (stream_chunk_builder)
            # would cost more CPU than the rest of a chat answer.
            usage = counted(self.usage)
            return "".join(self.pieces), [], usage, cost_of_tokens(model, usage)
        response: Any = litellm.stream_chunk_builder(self.chunks, messages=messages)
        message = response.choices[0].message
        tool_calls = [tool_call(asked) for asked in (message.tool_calls or [])]
        return "".join(self.pieces), tool_calls, usage_of(response), cost_of(response)


def tool_call(call: Any) -> dict[str, Any]:
    return {"id": call.id, "name": call.function.name, "arguments": call.function.arguments}


def usage_of(response: Any) -> dict[str, int]:
    return counted(getattr(response, "usage", None))


def counted(usage: Any) -> dict[str, int]:
    """A litellm ``Usage`` (a response's, or a stream's last chunk's) as Gaby records it."""
    return {"input": getattr(usage, "prompt_tokens", 0) or 0, "output": getattr(usage, "completion_tokens", 0) or 0}


_UNPRICED: set[str] = set()  # models litellm has no price for: asking again scans its whole price list


def cost_of(response: Any) -> Decimal:
    """litellm's price for the call; models it has no price for (local ones) cost nothing."""
    hidden = getattr(response, "_hidden_params", None)
    if isinstance(hidden, dict) and "response_cost" in hidden:  # priced by litellm as it answered: not twice
        return Decimal(str(hidden["response_cost"] or 0))
    model = str(getattr(response, "model", "") or "")
    if model in _UNPRICED:
        return Decimal(0)
    try:
        return Decimal(str(litellm.completion_cost(completion_response=response)))
    except Exception:  # litellm raises plain exceptions for unknown models
        _UNPRICED.add(model)
        return Decimal(0)


def cost_of_tokens(model: str, usage: dict[str, int]) -> Decimal:
    """The same price from token counts (a streamed answer's usage), for ``provider/model``."""
    if model in _UNPRICED:
        return Decimal(0)
    try:
        prompt, completion = litellm.cost_per_token(
            model=model, prompt_tokens=usage["input"], completion_tokens=usage["output"]
        )
    except Exception:  # litellm raises plain exceptions for unknown models
        _UNPRICED.add(model)
        return Decimal(0)
    return Decimal(str(prompt)) + Decimal(str(completion))
