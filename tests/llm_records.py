"""A model call recorded as the gateway records one: its ``LLMCall`` row and its month's rollup row, in one
transaction (apps/llm/gateway.py ``_record``), for tests that need spend without a model server."""

from __future__ import annotations

from typing import Any

from django.db import transaction

from apps.core.months import month_of
from apps.llm import rollup
from apps.llm.models import LLMCall


def recorded_call(client: Any, **fields: Any) -> LLMCall:
    """Create the call in the current schema (``client``'s) and count it in the client's month."""
    with transaction.atomic():
        call = LLMCall.objects.create(**fields)
        rollup.record(
            client.pk,
            month_of(call.created_at),
            tokens=call.input_tokens + call.output_tokens,
            cost_usd=call.cost_usd,
        )
    return call
