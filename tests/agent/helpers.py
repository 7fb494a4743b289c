"""Shared set-up for investigation tests: model routes on the scripted server, running an investigation in-process."""

from __future__ import annotations

import json
from typing import Any

from apps.agent import engine
from apps.agent.investigations import start_investigation
from apps.agent.models import Investigation
from apps.llm.gateway import LLMGateway
from apps.llm.services import save_provider, set_route
from tests.llm_server import Reply, ScriptedLLM


def route_all(client: Any, server: ScriptedLLM, *, max_output_tokens: int = 200) -> None:
    provider = save_provider(client=client, name="scripted", kind="openai_compatible", api_base=server.base_url)
    for workflow in ("classify", "plan", "verdict"):
        set_route(workflow=workflow, provider=provider, model="scripted-model", max_output_tokens=max_output_tokens)


def classify(category: str = "billing", is_infra: bool = False) -> Reply:
    return Reply(json.dumps({"category": category, "priority": "normal", "is_infra": is_infra}))


def verdict(**fields: Any) -> Reply:
    answer = {
        "verdict": "auto_resolved",
        "confidence": 0.9,
        "summary": "",
        "reply": "",
        "citations": [],
        "is_infra": None,
        "infra_evidence": [],
        "escalation_reason": "",
    } | fields
    return Reply(json.dumps(answer))


def investigate(ticket: Any, **start: Any) -> Investigation:
    """Start and run an investigation in this process (the worker's job), as the task would."""
    investigation = start_investigation(ticket=ticket, **start)
    outcome = engine.execute(investigation.pk, gateway=LLMGateway(ticket_client(), backoff_seconds=0.01))
    assert outcome in {"done", "failed"}, outcome
    investigation.refresh_from_db()
    return investigation


def ticket_client() -> Any:
    from django.db import connection

    return connection.tenant  # type: ignore[attr-defined]
