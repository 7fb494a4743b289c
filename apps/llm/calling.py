"""The model call itself: the one place Gaby sends a completion through litellm and reads what comes back.

``call`` waits in the calling thread (a blocking answer or a blocking stream, with ``on_token`` for each
piece of text); ``acall`` reads a stream on the caller's event loop. Both turn the response into an
``Outcome`` (responses.py). Retries, fallbacks and records are the gateway's (gateway.py): litellm retries
nothing (``num_retries=0``), and its errors propagate; ``sdk.transient_errors()`` names the ones worth another
attempt. litellm itself is imported at the first call (sdk.py).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from apps.llm.responses import Outcome, StreamReader, cost_of, tool_call, usage_of
from apps.llm.sdk import litellm
from apps.llm.steps import ModelCall

# litellm's documented per-request opt-out of its logging callbacks ("no-log"): Gaby records each call itself, so
# whatever callbacks a process registers never receive Gaby's prompts and answers. litellm still prices the
# response on it (the cost Gaby records), and still hands it to its logging thread, which then feeds nobody.
NO_LOG = {"no-log": True}


def call(model_call: ModelCall, on_token: Callable[[str], None] | None) -> Outcome:
    """The model's answer, waited for in this thread; a stream's pieces go to ``on_token`` as they come."""
    if not model_call.request.stream:
        response = litellm().completion(**model_call.arguments, **NO_LOG)
        message = response.choices[0].message
        tool_calls = [tool_call(asked) for asked in (message.tool_calls or [])]
        return message.content or "", tool_calls, usage_of(response), cost_of(response)
    reader = StreamReader()
    stream = litellm().completion(**model_call.arguments)
    for chunk in stream:
        piece = reader.text_of(chunk)
        if piece and on_token is not None:
            on_token(piece)
        if reader.finished:  # the answer is complete: only the usage report is left (StreamReader)
            reader.read_rest(stream)
            break
    return reader.outcome(model_call.arguments["model"], model_call.request.messages)


async def acall(model_call: ModelCall, on_token: Callable[[str], Awaitable[None]] | None) -> Outcome:
    """The model's streamed answer, read on the caller's event loop; each piece is awaited in ``on_token``."""
    reader = StreamReader()
    stream = await litellm().acompletion(**model_call.arguments)
    try:
        async for chunk in stream:
            piece = reader.text_of(chunk)
            if piece and on_token is not None:
                await on_token(piece)
            if reader.finished:  # the answer is complete: only the usage report is left (StreamReader)
                await reader.aread_rest(stream)
                break
    finally:
        close = getattr(stream, "aclose", None)
        if close is not None:  # an abandoned stream (the caller stopped it) lets go of its connection now
            await close()
    return reader.outcome(model_call.arguments["model"], model_call.request.messages)
