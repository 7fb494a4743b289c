"""The usage ledger across clients, through the real path: an investigation in Hartwell's schema with tool calls
through the PostgreSQL connector and model calls priced by litellm (gpt-4o-mini on the scripted server), an
operator's and a chat visitor's calls in Dearborn's, then one statement over both schemas; and its CSV, parsed."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.agent.models import InvestigationStep
from apps.agent.prompts import load_prompt
from apps.billing.usage import breakdown, by_client_and_month, ledger, user_labels
from apps.billing.usage_csv import HEADER, usage_csv
from apps.llm.budget import Budget, Untrusted
from apps.llm.gateway import LLMGateway
from apps.llm.models import LLMCall
from apps.llm.services import save_provider, set_route
from tests.agent.conftest import billing_db, make_ticket, source  # noqa: F401  (fixtures)
from tests.agent.helpers import classify, investigate, verdict
from tests.connectors.conftest import sample_url  # noqa: F401  (the sample database billing_db reads)
from tests.llm_server import Reply, ScriptedLLM

pytestmark = pytest.mark.django_db
PRICED = "gpt-4o-mini"  # litellm's local price map prices it: costs are not zero
QUERY = {
    "name": "Billing_DB__query",
    "arguments": {"sql": "SELECT plan FROM customers WHERE email = $1", "params": ["[EMAIL_1]"]},
}


def _routes(client: Any, llm: ScriptedLLM) -> None:
    provider = save_provider(client=client, name="scripted", kind="openai_compatible", api_base=llm.base_url)
    for workflow in ("classify", "plan", "verdict", "reply"):
        set_route(workflow=workflow, provider=provider, model=PRICED)


def _hartwell_investigation(hartwell: Any, llm: ScriptedLLM, new_ticket: Any) -> Any:
    with tenant_context(hartwell):
        _routes(hartwell, llm)
        llm.then(
            classify(),
            Reply("", tool_calls=[QUERY, QUERY], usage=(300, 30)),  # two Billing DB queries in one plan call
            Reply("DONE"),
            verdict(summary="Pro [T1].", reply="You are on the pro plan [T1].", citations=["T1"]),
        )
        investigation = investigate(new_ticket())
        assert investigation.status == "done"
        plans = LLMCall.objects.filter(budget_key=str(investigation.pk), workflow="plan")
        (plan_call,) = [call for call in plans if len(call.tool_calls) == 2]
        # The same plan call also asked another connector once (a step row as the engine writes it): its cost is
        # then 2/3 Billing DB and 1/3 NinjaOne.
        step = investigation.steps.filter(llm_call=plan_call, action__isnull=False)[0]
        InvestigationStep.objects.create(
            investigation=investigation,
            ordinal=99,
            kind="query",
            system="NinjaOne",
            title="NinjaOne: find_device",
            action=step.action,
            llm_call=plan_call,
        )
        return investigation, plan_call


def _dearborn_calls(dearborn: Any, llm: ScriptedLLM, carol: Any) -> None:
    with tenant_context(dearborn):
        _routes(dearborn, llm)
        llm.then(Reply("Answer for carol", usage=(1000, 100)), Reply("Answer for a visitor", usage=(10, 5)))
        gateway = LLMGateway(dearborn, backoff_seconds=0.01)
        for budget in (Budget("inv-x", requested_by=f"user:{carol.pk}"), Budget("chat:abc")):
            gateway.complete(
                workflow="reply",
                prompt=load_prompt("reply"),
                variables={"client_name": dearborn.name, "tone": "friendly"},
                untrusted=[Untrusted("ticket", "Where is my invoice?")],
                budget=budget,
            )


def test_cost_is_attributed_per_client_month_user_connector_and_workflow(
    hartwell: Any,
    dearborn: Any,
    people: dict[str, Any],
    llm: ScriptedLLM,
    make_ticket: Any,  # noqa: F811
    billing_db: Any,  # noqa: F811
) -> None:
    _, plan_call = _hartwell_investigation(hartwell, llm, make_ticket)
    _dearborn_calls(dearborn, llm, people["carol"])
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    month = timezone.now().date().replace(day=1)

    with CaptureQueriesContext(connection) as queries:
        rows = ledger(month, month, schemas=[hartwell.schema_name, dearborn.schema_name])
    assert len([q for q in queries.captured_queries if not q["sql"].startswith("SET search_path")]) == 1

    with tenant_context(hartwell):
        hartwell_calls = list(LLMCall.objects.all())
    with tenant_context(dearborn):
        dearborn_calls = list(LLMCall.objects.all())
    totals = by_client_and_month(rows)
    for schema, calls in ((hartwell.schema_name, hartwell_calls), (dearborn.schema_name, dearborn_calls)):
        # Split rows add up exactly to what was recorded.
        assert totals[(schema, month)].cost_usd == sum((c.cost_usd for c in calls), Decimal(0))
        assert totals[(schema, month)].tokens == sum(c.input_tokens + c.output_tokens for c in calls)
        assert totals[(schema, month)].cost_usd > 0

    connectors = dict(breakdown(rows, schema=hartwell.schema_name, month=month, by="connector"))
    plan_cost = plan_call.cost_usd
    assert connectors["Billing DB"].cost_usd == pytest.approx(plan_cost * 2 / 3, abs=Decimal("0.0000001"))
    assert connectors["NinjaOne"].cost_usd == pytest.approx(plan_cost / 3, abs=Decimal("0.0000001"))
    assert connectors["Billing DB"].tokens == pytest.approx(Decimal(330) * 2 / 3)
    others = sum((c.cost_usd for c in hartwell_calls if c.pk != plan_call.pk), Decimal(0))
    assert connectors[""].cost_usd == others  # classify, the plan call that called nothing, verdict

    workflows = dict(breakdown(rows, schema=hartwell.schema_name, month=month, by="workflow"))
    assert set(workflows) == {"classify", "plan", "verdict"} and workflows["plan"].calls >= 2
    users = dict(breakdown(rows, schema=hartwell.schema_name, month=month, by="user"))
    assert set(users) == {"contact:user2@example.com"}  # the ticket's requester asked

    dearborn_users = dict(breakdown(rows, schema=dearborn.schema_name, month=month, by="user"))
    carol_key = f"user:{people['carol'].pk}"
    assert set(dearborn_users) == {carol_key, "chat"}
    assert dearborn_users[carol_key].tokens == 1100 and dearborn_users["chat"].tokens == 15
    labels = user_labels(rows)
    assert labels[carol_key] == f"{people['carol'].email} (operator)" and labels["chat"] == "Chat visitors"

    earlier = month.replace(year=month.year - 1)
    assert ledger(earlier, earlier, schemas=[hartwell.schema_name, dearborn.schema_name]) == []


def test_the_csv_parses_back_with_commas_quotes_and_formulas_escaped(
    hartwell: Any, dearborn: Any, people: dict[str, Any], llm: ScriptedLLM
) -> None:
    _dearborn_calls(dearborn, llm, people["carol"])
    with tenant_context(dearborn):
        LLMCall.objects.filter(budget_key="inv-x").update(
            requested_by='contact:=HYPERLINK("http://evil.example","x"), "quoted"'
        )
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    month = timezone.now().date().replace(day=1)
    rows = ledger(month, month, schemas=[hartwell.schema_name, dearborn.schema_name])
    text = usage_csv(rows, {dearborn.schema_name: 'Dearborn, "Dental"'})
    parsed = list(csv.reader(io.StringIO(text)))
    assert parsed[0] == HEADER
    body = [dict(zip(HEADER, line, strict=True)) for line in parsed[1:]]
    assert len(body) == 2 and {line["client"] for line in body} == {dearborn.schema_name}
    assert all(line["client_name"] == 'Dearborn, "Dental"' for line in body)
    users = {line["user"] for line in body}
    assert users == {"Chat visitors", """'=HYPERLINK("http://evil.example","x"), "quoted" (requester)"""}
    assert not any(line["user"].startswith("=") for line in body)  # never a formula in a spreadsheet
    assert sum(Decimal(line["cost_usd"]) for line in body) == sum((r.cost_usd for r in rows), Decimal(0)).quantize(
        Decimal("0.000001")
    )
    assert {line["month"] for line in body} == {f"{month:%Y-%m}"}
