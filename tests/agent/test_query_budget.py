"""The SQL an investigation costs, pinned: the whole run and each extra tool step have a query budget, so a
regression (a re-read per step, a search_path set per cursor, a query per model call) fails here.

A scripted model drives the real loop (classify, tool calls through the safety gate, DONE, a cited verdict)
twice, with one tool call and with three; the second run's extra queries are the cost of two more
steps. Counted from the start of the investigation to its conclusion. Inside the test's transaction,
``BEGIN``/``COMMIT`` show as savepoints and commit hooks (live broadcasts, which read nothing) do not run.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apps.agent.models import Investigation
from apps.agent.runtime import settings_for
from apps.core.secrets import seal
from apps.llm.models import LLMCall
from apps.safety.models import ToolAction
from tests.agent.helpers import classify, investigate, route_all, verdict
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db

# The budgets include the savepoints of the test's own transaction and the helper's read-back; how they came to be
# these numbers is in git history.
WHOLE_RUN = 65  # one tool call: start, claim, 7 steps, 4 model calls, gate + 2 audits, conclusion, write-back,
# its time record (the billing rule, the insert: apps/billing/ledger.py), and the client's plan read once per
# gateway for its monthly quota (apps/llm/quota.py; none per model call for a client without caps); each model
# call also adds itself to the client's monthly rollup row (one upsert, apps/llm/rollup.py).
PER_TOOL_STEP = 13  # a plan call + a tool call: model call row and its rollup upsert, gate (key, rules, action,
# audit, result, audit)
QUERIES = [
    {
        "name": "Billing_DB__query",
        "arguments": {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]},
    },
    {"name": "Billing_DB__query", "arguments": {"sql": "SELECT count(*) FROM customers"}},
    {"name": "Billing_DB__list_tables", "arguments": {}},
]


def _investigate(ticket: Any, llm: ScriptedLLM, tool_calls: int) -> tuple[Investigation, list[str]]:
    plans = [Reply("", tool_calls=[QUERIES[n]]) for n in range(tool_calls)]
    answer = verdict(summary="Pro [T1] per [K1].", reply="You are on the pro plan.", citations=["T1", "K1"])
    llm.then(classify(), *plans, Reply("DONE"), answer)
    with CaptureQueriesContext(connection) as captured:
        investigation = investigate(ticket)
    return investigation, [query["sql"] for query in captured.captured_queries]


def test_an_investigation_and_each_tool_step_stay_within_their_query_budget(
    make_ticket: Any,
    billing_db: Any,
    knowledge: Any,
    llm: ScriptedLLM,
    in_hartwell: Any,
    django_capture_on_commit_callbacks: Any,
) -> None:
    route_all(in_hartwell, llm)
    with django_capture_on_commit_callbacks(execute=True):  # a worker holds the client's data key after first use
        seal(in_hartwell, "warm", purpose="test")
    settings_for()  # a client's settings row is created once, on its first read ever: not part of a run
    one, one_queries = _investigate(make_ticket(external_id="Q-1"), llm, tool_calls=1)
    three, three_queries = _investigate(make_ticket(external_id="Q-3"), llm, tool_calls=3)

    for investigation, tools in ((one, 1), (three, 3)):
        assert (investigation.status, investigation.verdict) == ("done", "auto_resolved")
        assert investigation.steps.count() == 6 + tools  # the first: Gaby read the ticket
        assert ToolAction.objects.filter(idempotency_key__startswith=f"inv:{investigation.pk}:").count() == tools
        assert LLMCall.objects.filter(budget_key=str(investigation.pk)).count() == 3 + tools
    # search_path is set when the connection's tenant changes, not before every cursor (at most once here).
    assert sum(sql.startswith("SET search_path") for sql in one_queries + three_queries) <= 1
    assert len(one_queries) <= WHOLE_RUN, "\n".join(one_queries)
    per_step = (len(three_queries) - len(one_queries)) / 2
    assert per_step <= PER_TOOL_STEP, "\n".join(three_queries)
    # Read once per run, whatever the number of steps: settings, model routes, the embedding model's settings.
    for table, reads in (("agent_agentsettings", 2), ("agent_modelroute", 2), ("knowledge_embeddingsettings", 1)):
        assert sum(f'FROM "{table}"' in sql for sql in three_queries) <= reads, table  # settings: start + run
    # A first attempt tallies its own model calls: the recorded calls are never summed (a resumed run sums them).
    assert not any('SUM("agent_llmcall"."input_tokens")' in sql for sql in three_queries)
