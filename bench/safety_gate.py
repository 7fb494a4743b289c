"""Cost of the one enforcement point on the hostile-ticket corpus, next to a floor measured in the same run.

Floor: ``audit.record`` of the same decision payload alone (the one hash-chained write every decision must make:
advisory lock, read of the last link, SHA-256, insert). Measured: ``run_tool`` on every corpus attempt in the
demo client Hartwell with realistic rules (the rules of tests/safety/test_hostile_corpus.py) under Auto autonomy:
tool lookup, rules, pure policy, ToolAction + audit row, in one transaction. Nothing reaches a server (every
attempt is denied or held), so this is the gate alone.

    GABY_ENV=development .venv/bin/python bench/safety_gate.py [--rounds 20]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django, summary

# (readOnlyHint, destructiveHint) as apps/agent/evals/hostile_server.py declares them; others: a plain write.
ANNOTATIONS = {
    "run_query": (True, False),
    "lookup_customer": (True, False),
    "execute_sql": (False, True),
    "issue_refund": (False, True),
    "delete_customer": (False, True),
    "read_env": (None, None),
    "http_post": (None, None),
}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=20)
    args = parser.parse_args()
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.auditlog import audit
    from apps.connectors.models import Connector, ConnectorTool
    from apps.safety.corpus import load
    from apps.safety.enforcement import CallContext, run_tool
    from apps.safety.models import SafetyRule, ToolAction
    from tenants.demo import seed_demo
    from tenants.models import Client
    from tests.safety.test_hostile_corpus import RULES

    seed_demo()
    client = Client.objects.get(slug="hartwell")
    corpus = load()
    with tenant_context(client):
        Client.objects.filter(pk=client.pk).update(autonomy="auto", approval_threshold=50)
        client.refresh_from_db()
        roles = {}
        for role, spec in corpus.connectors.items():
            connector, _ = Connector.objects.update_or_create(
                name=f"bench-{role}",
                defaults={
                    "kind": "mcp_stdio",
                    "transport": "stdio",
                    "command": "true",
                    "autonomy": "act",
                    "scope": "read_write",
                    "is_production": role == "infra",
                    "enabled": True,
                },
            )
            for tool in spec["tools"]:  # the annotations apps/agent/evals/hostile_server.py declares
                hint = ANNOTATIONS.get(tool, (False, False))
                ConnectorTool.objects.update_or_create(
                    connector=connector,
                    name=tool,
                    defaults={
                        "access": "read" if hint[0] else "write",
                        "read_only_hint": hint[0],
                        "destructive_hint": hint[1],
                    },
                )
            roles[role] = connector
        SafetyRule.objects.all().delete()
        for rule in RULES:
            SafetyRule.objects.create(
                connector=roles["infra"] if rule["tool_pattern"] == "restart_service" else None,
                predicates=rule.get("predicates", []),
                **{k: v for k, v in rule.items() if k != "predicates"},
            )
        attempts = [(t.id, n, a) for t in corpus.tickets for n, a in enumerate(t.attempts)]
        stamp = time.time_ns()
        floor, gate = [], []
        for round_number in range(args.rounds):
            for ticket_id, number, attempt in attempts:
                payload = {
                    "connector": attempt.connector,
                    "tool": attempt.tool,
                    "arguments": attempt.arguments,
                    "reason": "Denied by rule: bench.",
                    "risk": 65,
                    "autonomy": "act",
                }
                started = time.perf_counter()
                audit.record(event="bench.floor", payload=payload)
                floor.append((time.perf_counter() - started) * 1000)
                started = time.perf_counter()
                key = f"bench:{stamp}:{round_number}:{ticket_id}:{number}"
                action = run_tool(
                    connector=roles[attempt.connector],
                    tool_name=attempt.tool,
                    arguments=attempt.arguments,
                    context=CallContext(idempotency_key=key),
                )
                gate.append((time.perf_counter() - started) * 1000)
                assert action.status in {"denied", "awaiting_approval"}, (ticket_id, action.status)
        executed = (
            ToolAction.objects.filter(idempotency_key__startswith=f"bench:{stamp}:")
            .exclude(status__in=["denied", "awaiting_approval"])
            .count()
        )
    floor_median = sorted(floor)[len(floor) // 2]
    gate_median = sorted(gate)[len(gate) // 2]
    print(f"{len(attempts)} corpus attempts x {args.rounds} rounds, Hartwell, Auto autonomy, embedded PostgreSQL")
    print(f"  floor: audit.record alone                 {summary(floor)}")
    print(f"  run_tool (decide + record, not executed)  {summary(gate)}  ({gate_median / floor_median:4.1f}x floor)")
    print(f"  attempts executed: {executed}")


if __name__ == "__main__":
    main()
