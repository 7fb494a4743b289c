"""What a model's response adds up to, as the LLM gateway records it: text, tool calls, usage and cost.

A blocking response and a stream (blocking or asynchronous) are read the same way; prices come from litellm,
and a model it has no price for (a local one) costs nothing.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Any

from apps.llm.sdk import litellm

Outcome = tuple[str, list[dict[str, Any]], dict[str, int], Decimal]  # text, tool calls, usage, cost


class StreamReader:
    """What a streamed answer adds up to, chunk by chunk: the same for a blocking and an asynchronous stream.

    Once a chunk carries the finish reason the answer is complete, and the caller stops iterating litellm's
    stream: its end of stream rebuilds the whole response, prices it and feeds litellm's logging (on a thread
    of its own for an asynchronous stream), together more CPU than the rest of a chat answer, for callbacks
    Gaby does not use. What is left then is the provider's usage report, which ``read_rest`` takes from the
    provider's own stream (and from the chunks litellm set aside for it). A provider that reports no usage is
    counted the way litellm counts it (``outcome``).
    """

    def __init__(self) -> None:
        self.chunks: list[Any] = []
        self.pieces: list[str] = []
        self.usage: dict[str, int] | None = None
        self.tool_call_deltas = False
        self.finished = False

    def text_of(self, chunk: Any) -> str:
        """The chunk's text (empty when it carries none)."""
        self.chunks.append(chunk)
        self._note_usage(chunk)
        choice = chunk.choices[0] if chunk.choices else None
        if choice is None:
            return ""
        self.finished = self.finished or bool(getattr(choice, "finish_reason", None))
        delta = choice.delta
        if delta is None:
            return ""
        self.tool_call_deltas = self.tool_call_deltas or bool(getattr(delta, "tool_calls", None))
        if delta.content:
            self.pieces.append(delta.content)
            return str(delta.content)
        return ""

    def read_rest(self, stream: Any) -> None:
        """After the finish: the usage still to come in a blocking stream's provider events."""
        self._note_set_aside(stream)
        rest = getattr(stream, "completion_stream", None)
        if rest is not None and not hasattr(rest, "__aiter__"):
            for event in rest:
                self._note_usage(event)

    async def aread_rest(self, stream: Any) -> None:
        """After the finish: the usage still to come in an asynchronous stream's provider events."""
        self._note_set_aside(stream)
        rest = getattr(stream, "completion_stream", None)
        if rest is not None and hasattr(rest, "__aiter__"):
            async for event in rest:
                self._note_usage(event)

    def _note_set_aside(self, stream: Any) -> None:
        # litellm takes the usage off the chunks it passes on and keeps them for its end of stream
        for chunk in getattr(stream, "chunks", None) or []:
            self._note_usage(chunk)

    def _note_usage(self, event: Any) -> None:
        """The latest report of each count wins, as in litellm: a provider reports its running totals."""
        usage = _field(event, "usage")
        if not usage:
            return
        counts = self.usage or {"input": 0, "output": 0}
        for ours, theirs in _COUNTS:
            value = _field(usage, theirs)
            if value is not None:
                counts[ours] = int(value)
        self.usage = counts

    def outcome(self, model: str, messages: list[dict[str, Any]]) -> Outcome:
        """The answer's text, tool calls, usage and cost (``model`` as litellm names it: ``provider/model``)."""
        text = "".join(self.pieces)
        if self.usage is not None and not self.tool_call_deltas:
            # Text only, with the usage the provider reported: nothing to rebuild.
            return text, [], self.usage, cost_of_tokens(model, self.usage)
        response: Any = litellm().stream_chunk_builder(self.chunks, messages=messages)  # tool calls; or counts tokens
        message = response.choices[0].message
        tool_calls = [tool_call(asked) for asked in (message.tool_calls or [])]
        if self.usage is not None:
            return text, tool_calls, self.usage, cost_of_tokens(model, self.usage)
        return text, tool_calls, usage_of(response), cost_of(response)


def tool_call(call: Any) -> dict[str, Any]:
    return {"id": call.id, "name": call.function.name, "arguments": call.function.arguments}


_COUNTS = (("input", "prompt_tokens"), ("output", "completion_tokens"))  # Gaby's name, the provider's


def _field(item: Any, name: str) -> Any:
    """``name`` of a litellm object, or of a provider's raw event (a dict for some of them)."""
    return item.get(name) if isinstance(item, dict) else getattr(item, name, None)


def usage_of(response: Any) -> dict[str, int]:
    """A litellm response's ``Usage`` as Gaby records it."""
    usage = _field(response, "usage")
    return {ours: int(_field(usage, theirs) or 0) for ours, theirs in _COUNTS}


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
        return Decimal(str(litellm().completion_cost(completion_response=response)))
    except Exception:  # litellm raises plain exceptions for unknown models
        _UNPRICED.add(model)
        return Decimal(0)


def cost_of_tokens(model: str, usage: dict[str, int]) -> Decimal:
    """The same price from token counts (a streamed answer's usage), for ``provider/model``."""
    if model in _UNPRICED:
        return Decimal(0)
    try:
        prompt, completion = litellm().cost_per_token(
            model=model, prompt_tokens=usage["input"], completion_tokens=usage["output"]
        )
    except Exception:  # litellm raises plain exceptions for unknown models
        _UNPRICED.add(model)
        return Decimal(0)
    return Decimal(str(prompt)) + Decimal(str(completion))
