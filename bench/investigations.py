"""Investigations under load: throughput, end-to-end time and Gaby's own overhead per step.

N investigations run concurrently (threads calling the engine exactly as the Celery task does) in a client of
their own (``benchinv``, created once). The model is a scripted OpenAI-compatible server answering after a fixed
latency (classify → plan: one PostgreSQL query through the safety gate → plan: DONE → verdict); the connector is
the first-party PostgreSQL server on the embedded database. Gaby's overhead per step is an investigation's wall
time minus its model time (recorded on each LLM call) minus its tool time (recorded on each tool step), divided
by its timeline steps. Floor, measured in the same run: one raw HTTP POST to the same scripted server.

    .venv/bin/python bench/investigations.py [--count 100] [--concurrency 20] [--latency-ms 50]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import statistics
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import summary
from tests.llm_server import Reply, ScriptedLLM, Slow, Step


class RoutedLLM(ScriptedLLM):
    """Answers by what is asked (many investigations interleave), after a fixed latency."""

    def __init__(self, latency: float) -> None:
        super().__init__()
        self.latency = latency

    def _next(self, body: dict[str, Any], headers: dict[str, str]) -> Step:
        system = body["messages"][0]["content"]
        evidence = body["messages"][-1]["content"]
        if "triage step" in system:
            reply = Reply(json.dumps({"category": "billing", "priority": "normal", "is_infra": False}))
        elif body.get("tools"):
            if "id=T1" in evidence:
                reply = Reply("DONE")
            else:
                call = {"name": "Billing_DB__query", "arguments": {"sql": "SELECT 1 AS ok"}}
                reply = Reply("", tool_calls=[call])
        else:
            reply = Reply(json.dumps({"verdict": "auto_resolved", "confidence": 0.9, "summary": "ok [T1]",
                                      "reply": "All good.", "citations": ["T1"], "is_infra": False}))  # fmt: skip
        return Slow(self.latency, reply)


def _client() -> Any:
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    return Client.objects.filter(slug="benchinv").first() or create_client(name="Bench investigations", slug="benchinv")


def _database_url() -> str:
    from django.conf import settings

    db = settings.DATABASES["default"]
    return f"postgresql://{db['USER']}:{db['PASSWORD']}@/{db['NAME']}?host={db['HOST']}"


def _prepare(client: Any, llm: RoutedLLM, count: int) -> list[Any]:
    from apps.agent.investigations import start_investigation
    from apps.agent.models import AgentSettings
    from apps.agent.services import save_provider, set_route
    from apps.connectors import services as connectors
    from apps.connectors.models import Kind
    from apps.connectors.specs import Draft
    from apps.tickets import services as tickets
    from apps.tickets.normalized import NormalizedTicket

    _cleanup()
    AgentSettings.objects.create(auto_investigate=False)
    provider = save_provider(client=client, name="bench", kind="openai_compatible", api_base=llm.base_url)
    for workflow in ("classify", "plan", "verdict"):
        set_route(workflow=workflow, provider=provider, model="bench", max_output_tokens=100)
    draft = Draft(kind=Kind.POSTGRES, name="Billing DB", settings={"url": _database_url()})
    connectors.connect(client=client, draft=draft, actor=None)
    source = tickets.create_source(client=client, kind="webhook", name="Bench", config={})
    ids = []
    for n in range(count):
        normalized = NormalizedTicket(external_id=f"B-{n}", title=f"Question {n}", body="Which plan am I on?")
        ticket = tickets.ingest_ticket(source=source, normalized=normalized).ticket
        ids.append(start_investigation(ticket=ticket).pk)
    return ids


def _cleanup() -> None:
    from apps.agent.models import AgentSettings, LLMCall, LLMProvider, ModelRoute
    from apps.connectors.models import Connector
    from apps.safety.models import ToolAction
    from apps.tickets.models import Ticket, TicketSource

    Ticket.objects.all().delete()
    TicketSource.objects.all().delete()
    ToolAction.objects.all().delete()
    Connector.objects.all().delete()
    ModelRoute.objects.all().delete()
    LLMProvider.objects.all().delete()
    LLMCall.objects.all().delete()
    AgentSettings.objects.all().delete()


def _run_one(client: Any, investigation_id: Any) -> tuple[float, int]:
    """Wall time and SQL statements of this thread's connection (the heartbeat thread's are not counted)."""
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from apps.agent import engine

    try:
        with tenant_context(client), CaptureQueriesContext(connection) as queries:
            started = time.perf_counter()
            outcome = engine.execute(investigation_id)
            elapsed = time.perf_counter() - started
        if outcome != "done":
            raise RuntimeError(f"investigation {investigation_id} ended {outcome}")
        return elapsed, len(queries)
    finally:
        connections.close_all()


def _floor(llm: RoutedLLM, n: int = 30) -> list[float]:
    host, port = llm.base_url.split("//")[1].split("/")[0].split(":")
    body = json.dumps({"model": "bench", "messages": [{"role": "system", "content": "triage step"},
                                                      {"role": "user", "content": "x"}]})  # fmt: skip
    samples = []
    for _ in range(n):
        conn = http.client.HTTPConnection(host, int(port), timeout=10)
        started = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body=body, headers={"Content-Type": "application/json"})
        conn.getresponse().read()
        samples.append((time.perf_counter() - started) * 1000)
        conn.close()
    return samples


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--count", type=int, default=100)
    parser.add_argument("--concurrency", type=int, default=20)
    parser.add_argument("--latency-ms", type=int, default=50)
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    os.environ["GABY_AUTO_INVESTIGATE"] = "false"
    import django

    django.setup()
    from django.core.management import call_command
    from django.db.models import Sum
    from django_tenants.utils import tenant_context

    from apps.agent.models import Investigation, InvestigationStep, LLMCall

    call_command("migrate_schemas", interactive=False, verbosity=0)
    client = _client()
    llm = RoutedLLM(args.latency_ms / 1000)
    try:
        with tenant_context(client):
            ids = _prepare(client, llm, args.count)
        # Warm up: the MCP server session and litellm's first import-time work.
        with tenant_context(client):
            warm = ids.pop(0)
        _run_one(client, warm)
        started = time.perf_counter()
        with ThreadPoolExecutor(args.concurrency) as pool:
            results = list(pool.map(lambda pk: _run_one(client, pk), ids))
        walls = [wall for wall, _ in results]
        total = time.perf_counter() - started
        overheads, steps_total = [], 0
        with tenant_context(client):
            errors = Investigation.objects.filter(pk__in=ids).exclude(status="done").count()
            for pk, wall in zip(ids, walls, strict=True):
                llm_ms = LLMCall.objects.filter(budget_key=str(pk)).aggregate(t=Sum("latency_ms"))["t"] or 0
                steps = InvestigationStep.objects.filter(investigation_id=pk)
                tool_ms = steps.filter(action__isnull=False).aggregate(t=Sum("duration_ms"))["t"] or 0
                count = steps.count()
                steps_total += count
                overheads.append((wall * 1000 - llm_ms - tool_ms) / count)
        print(f"{len(ids)} investigations, {args.concurrency} at a time, scripted model latency {args.latency_ms} ms, "
              f"4 model calls + 1 PostgreSQL query each ({steps_total / len(ids):.0f} timeline steps)")  # fmt: skip
        print(f"  floor: raw POST to the scripted model        {summary(_floor(llm))}")
        print(f"  end-to-end per investigation                 {summary([w * 1000 for w in walls])}")
        print(f"  Gaby's overhead per step (wall-LLM-tool)/steps {summary(overheads)}")
        print(f"  SQL statements per investigation             {statistics.median(q for _, q in results):.0f} (median)")
        print(f"  throughput {len(ids) / total:.1f} investigations/s; errors {errors}")
    finally:
        with tenant_context(client):
            _cleanup()
        llm.close()
        from apps.connectors import host

        if host._host is not None:
            host._host.shutdown()


if __name__ == "__main__":
    main()
