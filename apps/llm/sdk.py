"""litellm and the OpenAI SDK's errors, imported at the first model call instead of with the code that may call one.

litellm (with openai and tiktoken under it) adds about 160 MB to a process and a second or two to its start. The
web server, beat, the IMAP listener and every process of a no-LLM install import the modules that *could* call a
model (the chat's answering, the agent's engine) without ever calling one, so the gateway's modules reach litellm
only through ``litellm()`` below, at call time. The first call imports and configures it once per process;
tests/test_llm_lazy_import.py checks that the web application and beat start without it.
"""

from __future__ import annotations

import os
from functools import cache
from types import ModuleType


@cache
def litellm() -> ModuleType:
    """The litellm module, configured for Gaby (imported on first use; later calls return the same module)."""
    os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # never fetch the price list (also in settings)
    import litellm as sdk

    sdk.telemetry = False
    sdk.suppress_debug_info = True
    # Gaby records every call itself (gateway.LLMGateway._record); litellm's own streaming success logging would
    # start an event loop per stream (asyncio.run in the answering thread) to feed callbacks Gaby never registers.
    sdk.disable_streaming_logging = True
    return sdk


@cache
def transient_errors() -> tuple[type[Exception], ...]:
    """The litellm errors worth another attempt (the gateway retries these with backoff)."""
    errors = litellm().exceptions
    return (
        errors.RateLimitError,
        errors.APIConnectionError,
        errors.Timeout,
        errors.InternalServerError,
        errors.ServiceUnavailableError,
        errors.BadGatewayError,
    )


@cache
def provider_errors() -> tuple[type[Exception], ...]:
    """Every error a provider answers with: the OpenAI SDK's base class (litellm's errors derive from it) and
    litellm's own API and connection errors."""
    import openai

    errors = litellm().exceptions
    return (openai.OpenAIError, errors.APIError, errors.APIConnectionError)


@cache
def openai_error() -> type[Exception]:
    """The OpenAI SDK's base error, which litellm's provider errors derive from."""
    import openai

    return openai.OpenAIError
