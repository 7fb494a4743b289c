"""Investigations end to end with a model of fixed latency: throughput, p50/p95 time, Gaby's overhead per step.

A client ``invbench`` gets a knowledge document, the PostgreSQL connector on a small table, and an LLM
provider pointing at a local OpenAI-compatible server that answers every call after a fixed delay
(``--model-ms``): classify, then one tool call (a SELECT through the safety gate and the MCP host), then
DONE, then a verdict citing the passage and the tool result — 4 model calls and 1 tool call each.
``--investigations`` are started at once and run by ``--workers`` threads through the real engine
(claim, context, gate, timeline, conclusion, write-back), each in the client's schema.

Overhead per step = (end-to-end - model calls - MCP tool call - knowledge search) / timeline steps, where
model time is what the gateway records per call (litellm included), tool time is measured around the MCP
host's call and search time around knowledge retrieval (embedding the ticket on the CPU); each is printed.
Floor, same run: the model server's own fixed delay per call.

    GABY_ENV=development .venv/bin/python bench/investigations.py [--investigations 100] [--workers 32]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

DOC = """# Plans

## Which plan is a customer on

A customer's plan is stored in the billing database, table customers, column plan. Pro customers get priority
support.
"""


class FixedLatencyModel:
    """An OpenAI-compatible server answering the investigation protocol after ``delay`` seconds per call."""

    def __init__(self, delay: float) -> None:
        self.delay = delay
        self.calls = 0
        self._lock = threading.Lock()
        model = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, format: str, *args: Any) -> None:
                pass

            def do_POST(self) -> None:
                body = json.loads(self.rfile.read(int(self.headers["content-length"])))
                time.sleep(model.delay)
                with model._lock:
                    model.calls += 1
                payload = json.dumps(model.answer(body)).encode()
                self.send_response(200)
                self.send_header("content-type", "application/json")
                self.send_header("content-length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server.server_address[1]}/v1"

    def answer(self, body: dict[str, Any]) -> dict[str, Any]:
        system = body["messages"][0]["content"]
        user = body["messages"][-1]["content"]
        message: dict[str, Any] = {"role": "assistant", "content": ""}
        if body.get("tools"):
            if "id=T1" in user:
                message["content"] = "DONE"
            else:
                name = next(t["function"]["name"] for t in body["tools"] if t["function"]["name"].endswith("__query"))
                arguments = json.dumps({"sql": "SELECT plan FROM public.bench_customers WHERE id = 1"})
                message["tool_calls"] = [
                    {"id": "call_1", "type": "function", "function": {"name": name, "arguments": arguments}}
                ]
        elif "concluding the investigation" in system:
            message["content"] = json.dumps({
                "verdict": "auto_resolved", "confidence": 0.9, "summary": "Plan found [T1] per [K1].",
                "reply": "You are on the pro plan.", "citations": ["K1", "T1"], "is_infra": False,
                "infra_evidence": [], "escalation_reason": "",
            })  # fmt: skip
        else:
            message["content"] = json.dumps({"category": "billing", "priority": "normal", "is_infra": False})
        return {
            "id": "bench", "object": "chat.completion", "created": int(time.time()), "model": body["model"],
            "choices": [{"index": 0, "message": message, "finish_reason": "tool_calls" if "tool_calls" in message
                         else "stop"}],
            "usage": {"prompt_tokens": 200, "completion_tokens": 20, "total_tokens": 220},
        }  # fmt: skip

    def close(self) -> None:
        self.server.shutdown()


TOOL_SECONDS: dict[str, float] = {}
SEARCH_SECONDS: dict[str, float] = {}
_probe_lock = threading.Lock()


def _timed(original: Any, into: dict[str, float]) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            key = threading.current_thread().name
            with _probe_lock:
                into[key] = into.get(key, 0.0) + time.perf_counter() - started

    return timed


def _probe() -> None:
    """Timing probes (behaviour unchanged): the MCP host's call, and knowledge search (query embedding + SQL)."""
    from apps.connectors import host as host_module
    from apps.knowledge import retrieval

    host_module.Host.call_tool = _timed(host_module.Host.call_tool, TOOL_SECONDS)  # type: ignore[method-assign]
    retrieval.search = _timed(retrieval.search, SEARCH_SECONDS)


def _setup(model: FixedLatencyModel) -> Any:
    from django_tenants.utils import tenant_context

    from apps.agent.investigations import save_settings
    from apps.agent.models import LLMProvider, Workflow
    from apps.agent.services import save_provider, set_route
    from apps.connectors import services as connectors
    from apps.connectors.models import Connector
    from apps.connectors.specs import postgres_draft
    from apps.knowledge import services as knowledge
    from apps.tickets import services as tickets
    from apps.tickets.models import TicketSource
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant, update_client_settings

    ensure_public_tenant()
    client = Client.objects.filter(slug="invbench").first() or create_client(
        name="Investigation Bench", slug="invbench"
    )
    client = update_client_settings(client=client, changes={"autonomy": "investigate"}, actor=None)
    with tenant_context(client):
        from django.db import connection

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE IF NOT EXISTS public.bench_customers (id int PRIMARY KEY, plan text)")
            cursor.execute("INSERT INTO public.bench_customers VALUES (1, 'pro') ON CONFLICT DO NOTHING")
        save_settings(changes={"auto_investigate": False, "max_tokens": 1_000_000, "max_usd": 100}, actor=None)
        if not TicketSource.objects.filter(name="Bench").exists():
            tickets.create_source(client=client, kind="webhook", name="Bench", config={})
        folder = Path(tempfile.gettempdir()) / "gaby-invbench-kb"
        folder.mkdir(exist_ok=True)
        (folder / "plans.md").write_text(DOC, encoding="utf-8")
        knowledge.sync_now(source=knowledge.directory_source_for(path=folder, name="Bench KB"))
        if not Connector.objects.filter(name="Shop DB").exists():
            from django.conf import settings

            from gaby_site.env import database_url

            url = database_url(settings.DATABASES["default"])
            draft = postgres_draft(name="Shop DB", url=url, allow_writes=False, row_cap=10, statement_timeout_ms=5000)
            connectors.connect(client=client, draft=draft, actor=None, operator=True)
        provider = LLMProvider.objects.filter(name="Bench model").first()
        provider = save_provider(client=client, provider=provider, name="Bench model", kind="openai_compatible",
                                 api_base=model.url, credentials={"api_key": "bench"})  # fmt: skip
        for workflow in (Workflow.CLASSIFY, Workflow.PLAN, Workflow.VERDICT):
            set_route(workflow=workflow, provider=provider, model="bench-model", timeout_seconds=60)
    return client


def _run_one(client: Any, source_id: Any, number: int, run: str) -> dict[str, float]:
    from django.db import connection
    from django_tenants.utils import tenant_context

    from apps.agent.engine import execute
    from apps.agent.investigations import start_investigation
    from apps.agent.models import Investigation, LLMCall
    from apps.tickets import services as tickets
    from apps.tickets.models import TicketSource
    from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

    thread = threading.current_thread().name
    TOOL_SECONDS[thread] = SEARCH_SECONDS[thread] = 0.0
    try:
        with tenant_context(client):
            started = time.perf_counter()
            source = TicketSource.objects.get(pk=source_id)
            external = f"{run}-{number}"
            normalized = NormalizedTicket(
                external_id=external, title="Which plan am I on?", body="Hello, which plan is customer 1 on?",
                contact=NormalizedContact(email="c1@example.com", name="C1"),
                messages=(NormalizedMessage(external_id=f"{external}/1", body="which plan is customer 1 on?"),),
            )  # fmt: skip
            ticket = tickets.ingest_ticket(source=source, normalized=normalized).ticket
            investigation = start_investigation(ticket=ticket, triggered_by="bench", queue=False)
            outcome = execute(investigation.pk)
            total = time.perf_counter() - started
            done = Investigation.objects.get(pk=investigation.pk)
            model_ms = sum(LLMCall.objects.filter(budget_key=str(done.pk)).values_list("latency_ms", flat=True))
            return {"ok": float(outcome == "done" and done.verdict == "auto_resolved"), "total": total,
                    "model": model_ms / 1000, "tool": TOOL_SECONDS[thread], "search": SEARCH_SECONDS[thread],
                    "steps": done.steps.count()}  # fmt: skip
    finally:
        connection.close()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--investigations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--model-ms", type=float, default=50.0)
    args = parser.parse_args()
    os.environ.setdefault("GABY_ENV", "development")
    os.environ.setdefault("GABY_LOG_LEVEL", "warning")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "gaby_site.settings")
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate_schemas", interactive=False, verbosity=0)
    from django_tenants.utils import tenant_context

    from apps.tickets.models import TicketSource

    model = FixedLatencyModel(args.model_ms / 1000)
    client = _setup(model)
    _probe()
    with tenant_context(client):
        source_id = TicketSource.objects.get(name="Bench").pk
    _run_one(client, source_id, 0, f"warm{time.time_ns()}")  # starts the connector's MCP server
    run = f"run{time.time_ns()}"
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="inv") as pool:
        results = list(pool.map(lambda n: _run_one(client, source_id, n, run), range(args.investigations)))
    wall = time.perf_counter() - started
    model.close()
    totals = sorted(r["total"] * 1000 for r in results)
    overhead = [(r["total"] - r["model"] - r["tool"] - r["search"]) * 1000 / max(1, r["steps"]) for r in results]
    errors = sum(1 for r in results if not r["ok"])
    p95 = totals[max(0, int(len(totals) * 0.95) - 1)]
    print(f"{args.investigations} investigations, {args.workers} worker threads, model {args.model_ms:.0f} ms/call "
          f"(floor: the model's own delay; 4 calls + 1 tool call each)")  # fmt: skip
    print(f"throughput            {args.investigations / wall:7.1f} investigations/s   (wall {wall:.1f} s)")
    print(f"end to end            p50 {statistics.median(totals):7.1f} ms   p95 {p95:7.1f} ms")
    print(f"model time / inv.     p50 {statistics.median(r['model'] * 1000 for r in results):7.1f} ms   "
          f"(floor {4 * args.model_ms:.0f} ms)")  # fmt: skip
    print(f"tool time / inv.      p50 {statistics.median(r['tool'] * 1000 for r in results):7.1f} ms")
    print(
        f"knowledge search      p50 {statistics.median(r['search'] * 1000 for r in results):7.1f} ms   "
        "(embedding the ticket on CPU + hybrid SQL)"
    )
    print(f"steps / investigation p50 {statistics.median(r['steps'] for r in results):7.0f}")
    print(f"Gaby overhead / step  p50 {statistics.median(overhead):7.2f} ms   p95 "
          f"{sorted(overhead)[max(0, int(len(overhead) * 0.95) - 1)]:7.2f} ms   (target < 10 ms)")  # fmt: skip
    print(f"errors                {errors}")


if __name__ == "__main__":
    main()
