"""The MSP's Costs page in Chromium: Mona sees the charts drawn from the recorded calls, downloads the CSV (parsed
here), and saves a client's plan and quota through the htmx form (the saved caps are in the database). The
server's answers to bad values are tested in tests/billing/test_costs_page.py: the browser refuses them first."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from django_tenants.utils import schema_context, tenant_context

from tests.agent.committed import _drop_audit_tail, _last_audit
from tests.conftest import PASSWORD

pytestmark = [pytest.mark.browser, pytest.mark.django_db]


@pytest.fixture(scope="module")
def spend(world: Any, django_db_blocker: Any) -> Iterator[None]:
    """Committed calls in both clients (the server is another process); removed afterwards, with Hartwell's plan
    and the audit events saving it wrote."""
    from apps.core.months import this_month
    from apps.llm import rollup
    from apps.llm.models import LLMCall
    from tenants.models import ClientPlan
    from tests.llm_records import recorded_call

    hartwell = world.clients["hartwell"]
    with django_db_blocker.unblock():
        marks = {schema: _last_audit(schema) for schema in (hartwell.schema_name, "public")}
        made = []
        for slug, usd in (("hartwell", "2.50"), ("dearborn", "0.75")):
            with tenant_context(world.clients[slug]):
                call = recorded_call(
                    world.clients[slug],
                    workflow="verdict",
                    provider_kind="openai",
                    provider_name="OpenAI",
                    model="gpt-4o-mini",
                    prompt_name="verdict",
                    prompt_version=1,
                    prompt_hash="x",
                    input_tokens=900,
                    output_tokens=100,
                    cost_usd=Decimal(usd),
                    status="ok",
                    requested_by="contact:dana@example.com",
                )
                made.append((slug, call.pk))
    yield
    with django_db_blocker.unblock():
        for slug, pk in made:
            with tenant_context(world.clients[slug]):
                LLMCall.objects.filter(pk=pk).delete()
        with schema_context("public"):  # the month's rollup rows back to what the records say
            clients = [world.clients[slug] for slug, _ in made]
            rollup.rebuild(clients, this_month(), this_month())
        with schema_context("public"):
            ClientPlan.objects.filter(client=hartwell).delete()
        for schema, mark in marks.items():
            _drop_audit_tail(schema, mark)


def test_mona_reads_the_charts_downloads_the_csv_and_saves_a_plan(
    asgi_server: str, page_factory: Any, spend: Any, world: Any, tmp_path: Path
) -> None:
    page = page_factory()
    portal = asgi_server.format(host="localhost")
    page.goto(portal + "/")
    page.fill("input[name=login]", "mona@bluemesa.example")
    page.fill("input[name=password]", PASSWORD)
    page.click("button[type=submit]")
    page.click("[data-testid=portal-costs-link]")
    page.wait_for_selector("[data-testid=chart-by-month] svg")
    assert page.locator("[data-testid=chart-by-month] svg rect").count() >= 2  # bars for both clients
    label = page.get_attribute("[data-testid=chart-by-client] svg", "aria-label")
    assert label is not None and "3.25 USD in total" in label

    page.select_option("[data-testid=costs-client]", "hartwell")
    page.click("[data-testid=costs-show]")
    page.wait_for_selector("[data-testid=breakdown-user]")
    assert "dana@example.com (requester)" in page.inner_text("[data-testid=breakdown-user]")
    assert "2.5000" in page.inner_text("[data-testid=breakdown-workflow]")

    with page.expect_download() as download:
        page.click("[data-testid=costs-csv]")
    saved = tmp_path / "costs.csv"
    download.value.save_as(saved)
    rows = list(csv.DictReader(io.StringIO(saved.read_text(encoding="utf-8"))))
    assert {(r["client"], r["cost_usd"]) for r in rows} >= {("hartwell", "2.500000"), ("dearborn", "0.750000")}

    form = "[data-testid=plan-form-hartwell]"
    page.select_option(f"{form} select[name=plan]", label="Starter")
    page.fill(f"{form} input[name=monthly_usd]", "40")
    page.fill(f"{form} input[name=seats]", "5")
    page.click("[data-testid=plan-save-hartwell]")
    page.wait_for_selector("[data-testid=quota-saved-hartwell]")
    assert page.inner_text("[data-testid=quota-plan-hartwell]") == "Starter"
    assert "of $40" in page.inner_text("[data-testid=quota-hartwell]")

    from tenants.models import ClientPlan

    with schema_context("public"):
        assigned = ClientPlan.objects.select_related("plan").get(client=world.clients["hartwell"])
        assert (assigned.plan.name, assigned.monthly_usd, assigned.seats) == ("Starter", Decimal("40.00"), 5)
