"""Investigations end to end with a model of fixed latency: Gaby's overhead per step, throughput, p50/p95.

A client ``invbench`` gets a knowledge document, the PostgreSQL connector on a small table, and an LLM
provider pointing at a local OpenAI-compatible server that answers every call after a fixed delay
(``--model-ms``): classify, then one tool call (a SELECT through the safety gate and the MCP host), then
DONE, then a verdict citing the passage and the tool result — 4 model calls and 1 tool call each, 6
timeline steps. Each investigation is started and run through the real engine (claim, playbook matching,
context, gate, timeline, conclusion, write-back) in the client's schema; the ticket is ingested before the
clock starts.

Two phases: ``--sequential`` investigations one at a time (Gaby's own cost per step, nothing competing for
the CPU), then ``--investigations`` started at once on ``--workers`` threads (throughput and p50/p95 under
load; a thread waiting for the CPU counts as overhead there).

Overhead per step = (end-to-end - litellm calls - MCP tool call - local embedding model) / timeline steps.
Probes (behaviour unchanged) time ``litellm.completion``, the MCP host's ``call_tool`` and the embedding
model's ``embed`` (the ticket is embedded on the CPU for playbook matching and knowledge search). Floors
measured in the same run: a bare HTTP POST of a chat request to the same scripted server (so litellm's own
cost per call = litellm call - bare HTTP call, printed as its own column and NOT counted as Gaby's
overhead), and a bare MCP call of the same SELECT (host call without the gate). The SQL queries of one
investigation are counted too.

    GABY_ENV=development .venv/bin/python bench/investigations.py [--investigations 100] [--workers 32]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import socket
import statistics
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench._fixed_latency_model import SQL, FixedLatencyModel

DOC = """# Plans

## Which plan is a customer on

A customer's plan is stored in the billing database, table customers, column plan. Pro customers get priority
support.
"""


PROBES = ("llm", "tool", "embed")
_spent: dict[str, dict[str, float]] = {}  # thread name -> probe -> seconds
_spent_lock = threading.Lock()


def _timed(original: Any, probe: str) -> Any:
    def timed(*args: Any, **kwargs: Any) -> Any:
        started, cpu = time.perf_counter(), time.thread_time()
        try:
            return original(*args, **kwargs)
        finally:
            elapsed, cpu = time.perf_counter() - started, time.thread_time() - cpu
            with _spent_lock:
                into = _spent.setdefault(threading.current_thread().name, {})
                into[probe] = into.get(probe, 0.0) + elapsed
                into[f"{probe}_cpu"] = into.get(f"{probe}_cpu", 0.0) + cpu

    return timed


def _probe() -> None:
    """Timing probes (behaviour unchanged): litellm, the MCP host's call, the local embedding model."""
    from apps.connectors import host as host_module
    from apps.knowledge.embeddings import EmbeddingProvider
    from apps.llm.sdk import litellm

    sdk: Any = litellm()  # the module the gateway calls through, imported now rather than at the first call
    sdk.completion = _timed(sdk.completion, "llm")
    host_module.Host.call_tool = _timed(host_module.Host.call_tool, "tool")  # type: ignore[method-assign]
    EmbeddingProvider.embed = _timed(EmbeddingProvider.embed, "embed")  # type: ignore[method-assign]


def _setup(model: FixedLatencyModel) -> Any:
    from django_tenants.utils import tenant_context

    from apps.agent.investigations import save_settings
    from apps.connectors import services as connectors
    from apps.connectors.models import Connector
    from apps.connectors.specs import postgres_draft
    from apps.knowledge import services as knowledge
    from apps.llm.models import LLMProvider, Workflow
    from apps.llm.services import save_provider, set_route
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

            from apps.core.env import database_url

            url = database_url(settings.DATABASES["default"])
            draft = postgres_draft(name="Shop DB", url=url, allow_writes=False, row_cap=10, statement_timeout_ms=5000)
            connectors.connect(client=client, draft=draft, actor=None, operator=True)
        provider = LLMProvider.objects.filter(name="Bench model").first()
        provider = save_provider(
            client=client,
            provider=provider,
            name="Bench model",
            kind="openai_compatible",
            api_base=model.url,
            credentials={"api_key": "bench"},
        )
        for workflow in (Workflow.CLASSIFY, Workflow.PLAN, Workflow.VERDICT):
            set_route(workflow=workflow, provider=provider, model="bench-model", timeout_seconds=60)
    return client


def _ticket(client: Any, source_id: Any, external: str) -> Any:
    from apps.tickets import services as tickets
    from apps.tickets.models import TicketSource
    from apps.tickets.normalized import NormalizedContact, NormalizedMessage, NormalizedTicket

    normalized = NormalizedTicket(
        # Each ticket's text differs (its reference), as real ones do: the query-embedding cache only saves the
        # second embedding of the same ticket within an investigation, never the first.
        external_id=external,
        title="Which plan am I on?",
        body=f"Hello, which plan is customer 1 on? Ref {external}.",
        contact=NormalizedContact(email="c1@example.com", name="C1"),
        messages=(NormalizedMessage(external_id=f"{external}/1", body="which plan is customer 1 on?"),),
    )
    return tickets.ingest_ticket(source=TicketSource.objects.get(pk=source_id), normalized=normalized).ticket


def _run_one(client: Any, source_id: Any, external: str, *, count_queries: bool = False) -> dict[str, float]:
    """One investigation, timed from its start (the ticket is already in) to its conclusion."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from django_tenants.utils import tenant_context

    from apps.agent.engine import execute
    from apps.agent.investigations import start_investigation
    from apps.agent.models import Investigation

    thread = threading.current_thread().name
    try:
        with tenant_context(client):
            ticket = _ticket(client, source_id, external)
            with CaptureQueriesContext(connection) as queries:
                if not count_queries:
                    queries.__exit__(None, None, None)  # count only when asked (debug cursors cost time)
                with _spent_lock:
                    _spent[thread] = {}
                started, cpu = time.perf_counter(), time.thread_time()
                investigation = start_investigation(ticket=ticket, triggered_by="bench", queue=False)
                outcome = execute(investigation.pk)
                total, cpu = time.perf_counter() - started, time.thread_time() - cpu
                spent = dict(_spent[thread])
            done = Investigation.objects.get(pk=investigation.pk)
            return {
                "ok": float(outcome == "done" and done.verdict == "auto_resolved"),
                "total": total,
                "cpu": cpu,
                "steps": done.steps.count(),
                "queries": len(queries.captured_queries) if count_queries else 0,
                **{key: spent.get(key, 0.0) for probe in PROBES for key in (probe, f"{probe}_cpu")},
            }
    finally:
        connection.close()


def _bare_http(model: FixedLatencyModel, calls: int) -> list[float]:
    """The floor of one model call: the same kind of chat request POSTed on a kept-alive connection."""
    body = json.dumps(
        {
            "model": "bench-model",
            "messages": [
                {"role": "system", "content": "Classify the ticket."},
                {"role": "user", "content": "which plan? " * 100},
            ],
        }
    )
    port = model.server.server_address[1]
    conn = http.client.HTTPConnection("127.0.0.1", port)
    conn.connect()
    conn.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        conn.request("POST", "/v1/chat/completions", body=body, headers={"content-type": "application/json"})
        json.loads(conn.getresponse().read())
        samples.append(time.perf_counter() - started)
    conn.close()
    return samples


def _bare_tool(client: Any, calls: int) -> list[float]:
    """The floor of one tool call: the same SELECT through the MCP host, without the gate or any recording."""
    from django.conf import settings
    from django_tenants.utils import tenant_context

    from apps.connectors.host import host
    from apps.connectors.models import Connector
    from apps.connectors.services import _spec

    with tenant_context(client):
        spec = _spec(Connector.objects.get(name="Shop DB"), client)
    samples = []
    for _ in range(calls):
        started = time.perf_counter()
        host().call_tool(spec, "query", {"sql": SQL}, max_chars=settings.CONNECTOR_MAX_RESULT_CHARS)
        samples.append(time.perf_counter() - started)
    return samples


def _p(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, round(len(ordered) * q) - 1))]


def _overhead(r: dict[str, float]) -> float:
    """Gaby's own milliseconds per step: everything but the model calls, the tool call and the embedding model."""
    return (r["total"] - r["llm"] - r["tool"] - r["embed"]) * 1000 / max(1, r["steps"])


def _cpu_overhead(r: dict[str, float]) -> float:
    """The CPU this thread spent on Gaby's own work per step (robust when other processes share the cores)."""
    return (r["cpu"] - r["llm_cpu"] - r["tool_cpu"] - r["embed_cpu"]) * 1000 / max(1, r["steps"])


def _report(title: str, results: list[dict[str, float]], http_floor: float, tool_floor: float) -> None:
    ms = [r["total"] * 1000 for r in results]
    llm_calls = 4
    litellm = [(r["llm"] / llm_calls - http_floor) * 1000 for r in results]
    overhead = [_overhead(r) for r in results]
    with_litellm = [_overhead(r) + (r["llm"] - llm_calls * http_floor) * 1000 / max(1, r["steps"]) for r in results]
    print(f"-- {title}")
    print(f"end to end             p50 {statistics.median(ms):8.1f} ms   p95 {_p(ms, 0.95):8.1f} ms")
    print(
        f"model calls / inv.     p50 {statistics.median(r['llm'] * 1000 for r in results):8.1f} ms   "
        f"(floor: {llm_calls} bare HTTP calls {llm_calls * http_floor * 1000:.1f} ms)"
    )
    print(f"litellm's own cost     p50 {statistics.median(litellm):8.1f} ms / call   (litellm call - bare HTTP call)")
    print(
        f"tool call / inv.       p50 {statistics.median(r['tool'] * 1000 for r in results):8.1f} ms   "
        f"(floor: bare MCP call {tool_floor * 1000:.1f} ms)"
    )
    print(
        f"embedding model / inv. p50 {statistics.median(r['embed'] * 1000 for r in results):8.1f} ms   "
        "(the ticket embedded on the CPU: playbook matching + knowledge search)"
    )
    print(f"steps / investigation  p50 {statistics.median(r['steps'] for r in results):8.0f}")
    print(
        f"Gaby overhead / step   p50 {statistics.median(overhead):8.2f} ms   p95 {_p(overhead, 0.95):8.2f} ms   "
        "(target < 10 ms)"
    )
    cpu = [_cpu_overhead(r) for r in results]
    print(
        f"  of which CPU         p50 {statistics.median(cpu):8.2f} ms   p95 {_p(cpu, 0.95):8.2f} ms"
        "   (this thread's CPU time; the rest is waiting for PostgreSQL, Redis or the CPU)"
    )
    print(
        f"  + litellm's cost     p50 {statistics.median(with_litellm):8.2f} ms   p95 {_p(with_litellm, 0.95):8.2f} ms"
        "   (the same, counting litellm as Gaby's)"
    )
    print(f"errors                 {sum(1 for r in results if not r['ok'])}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--investigations", type=int, default=100)
    parser.add_argument("--workers", type=int, default=32)
    parser.add_argument("--sequential", type=int, default=20)
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
    run = f"run{time.time_ns()}"
    for number in range(3):  # starts the connector's MCP server, loads the embedding model, warms litellm
        _run_one(client, source_id, f"{run}-warm{number}")
    counted = _run_one(client, source_id, f"{run}-counted", count_queries=True)
    http_floor = statistics.median(_bare_http(model, 30))
    tool_floor = statistics.median(_bare_tool(client, 30))
    sequential = [_run_one(client, source_id, f"{run}-seq{n}") for n in range(args.sequential)]
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=args.workers, thread_name_prefix="inv") as pool:
        concurrent = list(pool.map(lambda n: _run_one(client, source_id, f"{run}-{n}"), range(args.investigations)))
    wall = time.perf_counter() - started
    model.close()
    print(
        f"model: fixed {args.model_ms:.0f} ms/call; each investigation: 4 model calls, 1 tool call, "
        f"{counted['steps']:.0f} steps, {counted['queries']:.0f} SQL queries"
    )
    print(
        f"floors (same run): bare HTTP model call {http_floor * 1000:.1f} ms, bare MCP tool call "
        f"{tool_floor * 1000:.1f} ms"
    )
    _report(f"{args.sequential} investigations one at a time", sequential, http_floor, tool_floor)
    _report(
        f"{args.investigations} investigations at once on {args.workers} threads", concurrent, http_floor, tool_floor
    )
    print(f"throughput             {args.investigations / wall:8.1f} investigations/s   (wall {wall:.1f} s)")


if __name__ == "__main__":
    main()
