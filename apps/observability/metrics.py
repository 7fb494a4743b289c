"""Every Prometheus metric Gaby's processes count, defined once (docs/operations/metrics.md lists them).

Counters and histograms only: they add up across processes in multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
one file per process that the scrape sums), where a per-process gauge would need each dead process marked.
What is a level rather than a count (approvals waiting, queue depth, connector health, ingestion, open chats) is
read when Prometheus scrapes (apps/observability/scrape.py).

Label values are bounded: HTTP routes are URL pattern names, never paths; ``client`` is a client's schema name
(one per client the MSP serves) or ``all`` when ``GABY_METRICS_CLIENT_LABELS`` is off; ``decided_by`` keeps only
the kind of decider (``playbook``, not ``playbook:<name>``).
"""

from __future__ import annotations

from prometheus_client import Counter, Histogram

# Seconds: from a quick read (5 ms) to a slow model or tool call (2 min).
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)

HTTP_REQUESTS = Counter(
    "gaby_http_requests",
    "HTTP requests answered, by method, route name and status class.",
    ["method", "route", "status"],
)
HTTP_LATENCY = Histogram(
    "gaby_http_request_duration_seconds",
    "Time to answer an HTTP request, by method and route name.",
    ["method", "route"],
    buckets=LATENCY_BUCKETS,
)
INVESTIGATIONS = Counter(
    "gaby_investigations",
    "Investigations concluded, by verdict and the kind of decider (llm, playbook, knowledge, triage, failed).",
    ["client", "verdict", "decided_by"],
)
STEP_LATENCY = Histogram(
    "gaby_investigation_step_duration_seconds",
    "Time of an investigation's timeline step, by kind (read, query, action, verify, verdict).",
    ["kind"],
    buckets=LATENCY_BUCKETS,
)
TOOL_CALL_LATENCY = Histogram(
    "gaby_tool_call_duration_seconds",
    "Time from the safety gate's decision to a tool's result, by access (read, write) and status.",
    ["access", "status"],
    buckets=LATENCY_BUCKETS,
)
GATE_DECISIONS = Counter(
    "gaby_gate_decisions",
    "Safety gate decisions on tool calls, by outcome (allow, dry_run, needs_approval, deny) and access.",
    ["client", "outcome", "access"],
)
APPROVAL_DECISIONS = Counter(
    "gaby_approval_decisions",
    "Held actions decided, by what became of them (approved, rejected, expired).",
    ["client", "decision"],
)
LLM_CALLS = Counter(
    "gaby_llm_calls",
    "Model calls, by provider kind, workflow and status.",
    ["client", "provider", "workflow", "status"],
)
LLM_TOKENS = Counter(
    "gaby_llm_tokens",
    "Model tokens, by provider kind and direction (input, output).",
    ["client", "provider", "direction"],
)
LLM_COST = Counter("gaby_llm_cost_usd", "Model cost in US dollars, by provider kind.", ["client", "provider"])
LLM_LATENCY = Histogram(
    "gaby_llm_call_duration_seconds", "Time of a model call, by provider kind.", ["provider"], buckets=LATENCY_BUCKETS
)
WIDGET_SESSIONS = Counter("gaby_widget_sessions", "Chat widget conversations started.", ["client"])
INGESTED_TICKETS = Counter(
    "gaby_tickets_ingested",
    "Tickets created from a help desk, email or the widget, by source kind.",
    ["client", "source"],
)
TASKS = Counter("gaby_celery_tasks", "Celery tasks finished, by task name and state.", ["task", "state"])
TASK_LATENCY = Histogram(
    "gaby_celery_task_duration_seconds", "Time a Celery task ran, by task name.", ["task"], buckets=LATENCY_BUCKETS
)
