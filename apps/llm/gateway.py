"""The LLM gateway: with ``calling`` (the model call), ``responses`` (how a response is read) and ``embeddings``,
the one seam to litellm, which ``sdk`` imports at the first model call (LLM-2..LLM-6, GOV-4, MSP-7).

Every model call in Gaby goes through ``LLMGateway.complete`` (or ``streaming``, the same steps with the stream
read on an event loop: streaming.py), which, in order:

1. picks the route for the workflow (classification, planning, verdict, reply) and its fallbacks (LLM-4);
2. skips providers the client's compliance profile does not allow (MSP-7);
3. labels customer and tool text as untrusted and redacts every message with the client's profile (GOV-4);
4. refuses the call if the investigation's token or dollar budget would be exceeded (LLM-5: hard stop), or if the
   client's monthly plan quota is reached (quota.py: ``QuotaExceeded``, with a notice to people before it);
5. calls litellm (calling.py), retrying transient failures with backoff, then falling back to the next route;
6. records every attempt as an ``LLMCall`` with prompt name, version and hash, tokens, cost and latency (LLM-6).

These steps are one generator that yields each model call to a driver (steps.py). No route configured is not
an error here but a mode: ``NoModelConfigured`` tells the caller to use knowledge-base answers and playbooks
instead.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Generator, Sequence
from decimal import Decimal
from typing import Any

import structlog
from django.db import transaction

from apps.core.compliance import profile_for
from apps.core.outbound import OutboundRefused, check_url
from apps.core.redaction import Vault
from apps.llm import calling
from apps.llm.budget import Budget, BudgetExceeded, LLMError, NoModelConfigured, ProviderNotAllowed, Untrusted
from apps.llm.models import CallStatus, LLMCall, LLMProvider, ModelRoute
from apps.llm.prompts import Prompt
from apps.llm.providers import litellm_arguments
from apps.llm.quota import Quota
from apps.llm.responses import Outcome
from apps.llm.sdk import litellm, openai_error, transient_errors
from apps.llm.steps import LLMResult, ModelCall, Request, Steps, Target, advance
from apps.llm.streaming import Streaming
from tenants.models import Client

log = structlog.get_logger(__name__)


def _label(item: Untrusted) -> str:
    return f'<untrusted source="{item.source}">\n{item.text}\n</untrusted>'


class LLMGateway:
    def __init__(self, client: Client, *, backoff_seconds: float = 0.5, max_attempts: int = 3) -> None:
        self.client = client
        self.profile = profile_for(client)
        self.quota = Quota(client)
        self.backoff_seconds = backoff_seconds
        self.max_attempts = max_attempts
        self._routes: dict[str, ModelRoute] | None = None
        self._provider_arguments: dict[tuple[Any, str], dict[str, Any]] = {}  # credentials unsealed once

    def route(self, workflow: str) -> ModelRoute | None:
        """The enabled route of ``workflow``. Routes are read once per gateway, and a gateway serves one
        investigation or one answer: a route changed meanwhile applies from the next one."""
        if self._routes is None:
            routes = ModelRoute.objects.select_related("provider").filter(provider__enabled=True)
            self._routes = {row.workflow: row for row in routes}  # one route per workflow (unique)
        return self._routes.get(workflow)

    def complete(
        self,
        *,
        workflow: str,
        prompt: Prompt,
        variables: dict[str, Any],
        untrusted: Sequence[Untrusted] = (),
        instruction: str = "",
        tools: Sequence[dict[str, Any]] | None = None,
        budget: Budget,
        vault: Vault | None = None,
        stream: bool = False,
        on_token: Callable[[str], None] | None = None,
    ) -> LLMResult:
        steps = self._steps(
            workflow=workflow,
            prompt=prompt,
            variables=variables,
            untrusted=untrusted,
            instruction=instruction,
            tools=tools,
            budget=budget,
            vault=vault,
            stream=stream,
        )
        outcome: Outcome | Exception | None = None
        while not isinstance(step := advance(steps, outcome), LLMResult):
            try:
                outcome = calling.call(step, on_token)
            except Exception as exc:  # handled by the steps as if raised there (retry, next model, or out)
                outcome = exc
        return step

    def streaming(
        self,
        *,
        workflow: str,
        prompt: Prompt,
        variables: dict[str, Any],
        untrusted: Sequence[Untrusted] = (),
        instruction: str = "",
        budget: Budget,
        vault: Vault | None = None,
    ) -> Streaming:
        """``complete(stream=True)`` with the stream read on the caller's event loop: waiting for the model
        holds no thread. The same steps (route, compliance, redaction, budget, retries, fallbacks, a recorded
        ``LLMCall`` per attempt) run where the database is usable; see ``Streaming``."""
        steps = self._steps(
            workflow=workflow,
            prompt=prompt,
            variables=variables,
            untrusted=untrusted,
            instruction=instruction,
            tools=None,
            budget=budget,
            vault=vault,
            stream=True,
        )
        return Streaming(steps)

    def _steps(
        self,
        *,
        workflow: str,
        prompt: Prompt,
        variables: dict[str, Any],
        untrusted: Sequence[Untrusted],
        instruction: str,
        tools: Sequence[dict[str, Any]] | None,
        budget: Budget,
        vault: Vault | None,
        stream: bool,
    ) -> Steps:
        route = self.route(workflow)
        if route is None:
            raise NoModelConfigured(
                f"No model is configured for {workflow}: Gaby answers from knowledge and playbooks."
            )
        vault = vault if vault is not None else Vault()
        redactor = self.profile.redactor
        # Part by part: the ticket, passages and tool results come back call after call, and the vault
        # remembers what each one redacted to.
        user_parts = [_label(item) for item in untrusted] + ([instruction] if instruction else [])
        messages = [
            {"role": "system", "content": redactor.redact(prompt.render(**variables), vault).text},
            {"role": "user", "content": "\n\n".join(redactor.redact(part, vault).text for part in user_parts)},
        ]
        request = Request(workflow, prompt, messages, tools, budget, route, stream, self.max_attempts)
        tried = 0
        for target in self._targets(route):
            if not self.profile.allows_provider(target.provider.kind):
                kind = target.provider.get_kind_display()
                self._record(
                    request,
                    target,
                    status=CallStatus.NOT_ALLOWED,
                    error=f"The {self.profile.name} compliance profile does not allow {kind}.",
                )
                continue
            tried += 1
            result = yield from self._try_target(request, target, vault)
            if result is not None:
                return result
        if tried == 0:
            raise ProviderNotAllowed(
                f"No model allowed by the {self.profile.name} profile is configured for {workflow}."
            )
        raise LLMError(f"Every model for {workflow} failed: " + "; ".join(request.notes))

    def _targets(self, route: ModelRoute) -> list[Target]:
        targets = [Target(route.provider, route.model)]
        if not route.fallbacks:
            return targets
        ids = [str(fallback.get("provider")) for fallback in route.fallbacks]
        providers = {str(p.pk): p for p in LLMProvider.objects.filter(enabled=True, pk__in=ids)}
        for fallback in route.fallbacks:
            provider = providers.get(str(fallback.get("provider")))
            if provider is not None and fallback.get("model"):
                targets.append(Target(provider, str(fallback["model"])))
        return targets

    def _check_budget(self, request: Request, target: Target) -> None:
        self.quota.check()  # the client's month first: a spent quota stops every budget
        tokens, usd = request.budget.spent()
        limit = request.budget.max_tokens
        # Counting tokens costs ~1 ms a call; a ceiling that can only over-count tells when it cannot matter.
        if limit is not None and tokens + _token_ceiling(request.messages) + request.route.max_output_tokens > limit:
            needed = litellm().token_counter(model=target.model, messages=request.messages)
            needed += request.route.max_output_tokens
            if tokens + needed > limit:
                raise BudgetExceeded(f"Token budget reached: {tokens} spent + up to {needed} for this call > {limit}.")
        if request.budget.max_usd is not None and usd >= request.budget.max_usd:
            raise BudgetExceeded(f"Spend budget reached: ${usd} of ${request.budget.max_usd}.")

    def _try_target(
        self, request: Request, target: Target, vault: Vault
    ) -> Generator[ModelCall, Outcome, LLMResult | None]:
        for attempt in range(1, request.max_attempts + 1):
            try:
                self._check_budget(request, target)
            except BudgetExceeded as exc:
                self._record(request, target, status=CallStatus.BUDGET_STOPPED, error=str(exc), attempt=attempt)
                raise
            started = time.monotonic()
            try:
                text, tool_calls, usage, cost = yield ModelCall(request, target, self._arguments(request, target))
            except OutboundRefused as exc:  # the base URL resolves inside now: not this provider, not retried
                self._record(request, target, status=CallStatus.ERROR, error=str(exc), attempt=attempt)
                request.notes.append(f"{target.provider.name}/{target.model}: {exc}")
                return None
            except transient_errors() as exc:
                error = f"{type(exc).__name__}: {exc}"
                self._record(
                    request,
                    target,
                    status=CallStatus.ERROR,
                    error=error,
                    attempt=attempt,
                    latency=time.monotonic() - started,
                )
                if attempt < request.max_attempts:
                    time.sleep(self.backoff_seconds * 2 ** (attempt - 1))
                    continue
                request.notes.append(f"{target.provider.name}/{target.model}: {error}")
                return None
            except openai_error() as exc:  # not worth retrying (bad request, auth, not found): next target
                error = f"{type(exc).__name__}: {exc}"
                self._record(
                    request,
                    target,
                    status=CallStatus.ERROR,
                    error=error,
                    attempt=attempt,
                    latency=time.monotonic() - started,
                )
                request.notes.append(f"{target.provider.name}/{target.model}: {error}")
                return None
            call = self._record(
                request,
                target,
                status=CallStatus.OK,
                attempt=attempt,
                text=text,
                tool_calls=tool_calls,
                usage=usage,
                cost=cost,
                latency=time.monotonic() - started,
            )
            return LLMResult(text=text, tool_calls=tool_calls, call=call, vault=vault)
        return None

    def _arguments(self, request: Request, target: Target) -> dict[str, Any]:
        if target.provider.api_base:  # checked when saved; again before each call, as litellm connects by name
            check_url(target.provider.api_base)
        key = (target.provider.pk, target.model)
        if key not in self._provider_arguments:
            self._provider_arguments[key] = litellm_arguments(self.client, target.provider, target.model)
        arguments = dict(self._provider_arguments[key])
        arguments.update(
            messages=request.messages,
            max_tokens=request.route.max_output_tokens,
            temperature=request.route.temperature,
            timeout=request.route.timeout_seconds,
            num_retries=0,  # retries are ours, so each attempt is recorded
        )
        if request.tools:
            arguments["tools"] = list(request.tools)
        if request.stream:
            arguments.update(stream=True, stream_options={"include_usage": True})
        return arguments

    def _record(
        self,
        request: Request,
        target: Target,
        *,
        status: str,
        error: str = "",
        attempt: int = 1,
        text: str = "",
        tool_calls: list[dict[str, Any]] | None = None,
        usage: dict[str, int] | None = None,
        cost: Decimal = Decimal(0),
        latency: float = 0.0,
    ) -> LLMCall:
        # The call's record and its month's rollup row, together or not at all (inside a caller's transaction, no
        # savepoint of its own: a failure here fails the caller's transaction too).
        with transaction.atomic(savepoint=False):
            call = self._create_call(request, target, status=status, error=error, attempt=attempt, text=text,
                                     tool_calls=tool_calls, usage=usage, cost=cost, latency=latency)  # fmt: skip
            self.quota.add(call.input_tokens + call.output_tokens, cost)
        request.budget.add(call.input_tokens + call.output_tokens, cost)
        log.info(
            "llm_call",
            workflow=request.workflow,
            model=target.model,
            status=status,
            attempt=attempt,
            tokens=call.input_tokens + call.output_tokens,
            cost_usd=str(cost),
        )
        return call

    def _create_call(
        self,
        request: Request,
        target: Target,
        *,
        status: str,
        error: str,
        attempt: int,
        text: str,
        tool_calls: list[dict[str, Any]] | None,
        usage: dict[str, int] | None,
        cost: Decimal,
        latency: float,
    ) -> LLMCall:
        return LLMCall.objects.create(
            budget_key=request.budget.key,
            requested_by=request.budget.requested_by[:320],
            workflow=request.workflow,
            provider_kind=target.provider.kind,
            provider_name=target.provider.name,
            model=target.model,
            prompt_name=request.prompt.name,
            prompt_version=request.prompt.version,
            prompt_hash=request.prompt.sha256,
            request_messages=request.messages,
            response_text=text,
            tool_calls=tool_calls or [],
            input_tokens=(usage or {}).get("input", 0),
            output_tokens=(usage or {}).get("output", 0),
            cost_usd=cost,
            latency_ms=int(latency * 1000),
            streamed=request.stream,
            status=status,
            error=error,
            attempt=attempt,
        )


def _token_ceiling(messages: Sequence[dict[str, Any]]) -> int:
    """At least what any tokenizer counts for these text messages: a token covers at least one byte of text,
    and a message's framing (role, separators, a name) is a few tokens, with a few more to prime the reply."""
    return 8 + sum(16 + len(str(message.get("content") or "").encode()) for message in messages)
