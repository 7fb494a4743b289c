"""/costs on the MSP portal: MSP staff only, charts drawn from the ledger, a client's month broken down, the CSV
download, bad parameters answered with what to send, and the plan/quota form saved and audited."""

from __future__ import annotations

import csv
import io
from decimal import Decimal
from typing import Any

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import tenant_context

from apps.auditlog.models import AuditEvent
from apps.billing import costs
from apps.core.months import months_back, this_month
from apps.llm import rollup
from tenants.models import ClientPlan, Plan
from tests.llm_records import recorded_call

pytestmark = pytest.mark.django_db


def _calls(client: Any, *costs: str, requested_by: str = "") -> None:
    with tenant_context(client):
        for usd in costs:
            recorded_call(
                client,
                workflow="reply",
                provider_kind="openai",
                provider_name="OpenAI",
                model="gpt-4o-mini",
                prompt_name="reply",
                prompt_version=1,
                prompt_hash="x",
                input_tokens=100,
                output_tokens=20,
                cost_usd=Decimal(usd),
                status="ok",
                requested_by=requested_by,
            )
    connection.set_schema_to_public()  # type: ignore[attr-defined]


def test_only_msp_staff_read_the_costs(as_user: Any) -> None:
    assert as_user("mona", "public").get("/costs/").status_code == 200
    assert as_user("alice", "public").get("/costs/").status_code == 403  # a client's Admin, not MSP staff
    assert as_user("alice", "public").get("/costs/export.csv").status_code == 403
    assert as_user("alice", "public").post("/costs/clients/hartwell/plan/", {"plan": "x"}).status_code == 403
    assert as_user("alice", "hartwell").get("/costs/").status_code == 404  # not served on a client's domain
    assert as_user(None, "public").get("/costs/").status_code in (302, 403)
    assert 'data-testid="portal-costs-link"' in as_user("mona", "public").get("/").content.decode()


def test_the_page_charts_by_month_and_client_and_breaks_a_month_down(
    as_user: Any, hartwell: Any, dearborn: Any, people: dict[str, Any]
) -> None:
    _calls(hartwell, "1.50", "0.25", requested_by=f"user:{people['bob'].pk}")
    _calls(dearborn, "0.40", requested_by="contact:pat@dearborn.example")
    month = timezone.now().date().replace(day=1)
    page = as_user("mona", "public").get(f"/costs/?client=hartwell&month={month:%Y-%m}&months=3")
    body = page.content.decode()
    assert page.status_code == 200
    assert (
        body.count('<figure class="chart"><svg') == 2
        and "Model spend by month" in body
        and "Model spend by client" in body
    )
    assert "<title>Hartwell" in body or "Hartwell" in body
    assert 'data-testid="breakdown-user"' in body and f"{people['bob'].email} (operator)" in body
    assert "1.7500" in body  # Hartwell's month: 1.50 + 0.25
    assert 'data-testid="quota-hartwell"' in body and 'data-testid="quota-dearborn"' in body


def test_bad_parameters_say_what_to_send(as_user: Any) -> None:
    mona = as_user("mona", "public")
    for query, expected in (
        ("month=2026-13", "month must look like 2026-11"),
        ("months=7", "months must be one of 3, 6, 12"),
        ("client=nobody", "No client has the slug 'nobody'"),
        ("month=1999-01", "month must look like"),
    ):
        response = mona.get(f"/costs/?{query}")
        assert response.status_code == 400 and expected in response.content.decode(), query
    assert mona.get("/costs/export.csv?months=0").status_code == 400


def test_the_csv_download_is_the_ledger(as_user: Any, hartwell: Any, dearborn: Any) -> None:
    _calls(hartwell, "0.10", "0.20")
    _calls(dearborn, "0.05")
    response = as_user("mona", "public").get("/costs/export.csv?months=3")
    assert response.status_code == 200 and response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="gaby-costs-')
    lines = list(csv.DictReader(io.StringIO(response.content.decode())))
    by_client = {line["client"]: Decimal(line["cost_usd"]) for line in lines}
    assert by_client == {"hartwell": Decimal("0.300000"), "dearborn": Decimal("0.050000")}
    assert {line["user"] for line in lines} == {"Not recorded"}


def test_the_plan_form_saves_audits_and_shows_errors(as_user: Any, hartwell: Any, people: dict[str, Any]) -> None:
    mona = as_user("mona", "public")
    pro = Plan.objects.get(name="Pro")
    saved = mona.post(
        "/costs/clients/hartwell/plan/",
        {"plan": str(pro.pk), "monthly_tokens": "", "monthly_usd": "150.00", "seats": "4"},
        HTTP_HX_REQUEST="true",
    )
    assert saved.status_code == 200 and 'data-testid="quota-saved-hartwell"' in saved.content.decode()
    assigned = ClientPlan.objects.get(client=hartwell)
    assert (assigned.plan, assigned.monthly_tokens, assigned.monthly_usd, assigned.seats) == (
        pro,
        None,
        Decimal("150.00"),
        4,
    )
    event = AuditEvent.objects.filter(event="billing.plan_changed").latest("id")  # the install's chain
    assert event.payload["monthly_usd"] == "150.00" and event.payload["plan"] == "Pro"
    with tenant_context(hartwell):
        assert AuditEvent.objects.filter(event="billing.plan_changed").count() == 1  # and the client's
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    bad = mona.post(
        "/costs/clients/hartwell/plan/",
        {"plan": str(pro.pk), "monthly_usd": "-3", "seats": "0"},
        HTTP_HX_REQUEST="true",
    )
    text = bad.content.decode()
    assert bad.status_code == 400 and "greater than or equal to 0.01" in text and "greater than or equal to 1" in text
    assert ClientPlan.objects.get(client=hartwell).seats == 4  # unchanged
    assert mona.post("/costs/clients/nobody/plan/", {"plan": str(pro.pk)}).status_code == 404


def test_plan_tiers_are_rows_staff_edit_in_the_admin(db: None) -> None:
    from django.test import Client as HttpClient

    from apps.accounts.models import User

    boss = User.objects.create_superuser("boss@bluemesa.example", "a-long-password-1")
    browser = HttpClient(HTTP_HOST="localhost")
    browser.force_login(boss)
    listing = browser.get("/admin/tenants/plan/")
    assert listing.status_code == 200
    assert all(name in listing.content.decode() for name in ("Starter", "Pro", "Unlimited"))
    starter = Plan.objects.get(name="Starter")
    assert browser.get(f"/admin/tenants/plan/{starter.pk}/change/").status_code == 200


def test_the_csv_covers_the_months_the_page_shows(as_user: Any, hartwell: Any) -> None:
    """The page and its download read the same months for the same parameters (they used to differ)."""
    current = this_month()
    earlier = months_back(current, 2)[0]
    with tenant_context(hartwell):
        call = recorded_call(hartwell, workflow="reply", provider_kind="openai", provider_name="OpenAI",
                             model="m", prompt_name="reply", prompt_version=1, prompt_hash="x",
                             cost_usd=Decimal("0.30"), status="ok")  # fmt: skip
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    _calls(hartwell, "0.70")
    mona = as_user("mona", "public")
    for query in (f"month={earlier:%Y-%m}&months=3", "months=6", f"month={current:%Y-%m}&months=12"):
        page = mona.get(f"/costs/?{query}").content.decode()
        download = mona.get(f"/costs/export.csv?{query}")
        shown = costs.shown_months(
            *(dict(p.split("=") for p in query.split("&")).get(k, "") for k in ("month", "months"))
        )[0]
        name = f"gaby-costs-{shown[0]:%Y-%m}-to-{shown[-1]:%Y-%m}.csv"
        assert download["Content-Disposition"] == f'attachment; filename="{name}"', query
        assert f"?month={dict(p.split('=') for p in query.split('&')).get('month', f'{current:%Y-%m}')}" in page
        months = {line["month"] for line in csv.DictReader(io.StringIO(download.content.decode()))}
        assert months <= {f"{m:%Y-%m}" for m in shown} and f"{current:%Y-%m}" in months, query
    assert call.pk


def test_the_page_reads_the_rollup_not_every_clients_calls(
    as_user: Any, hartwell: Any, dearborn: Any, django_assert_max_num_queries: Any
) -> None:
    """Per-client spend comes from the monthly rollup; only the chosen client's month is read from its records."""
    _calls(hartwell, "1.00", "2.00")
    _calls(dearborn, "0.50")
    used = {c: rollup.month_usage(c.pk, this_month()) for c in (hartwell, dearborn)}
    assert (used[hartwell].calls, used[hartwell].cost_usd, used[dearborn].cost_usd) == (2, Decimal("3"), Decimal("0.5"))
    rollup.rebuild([hartwell, dearborn], this_month(), this_month())  # recomputed from the records: the same
    assert rollup.month_usage(hartwell.pk, this_month()) == used[hartwell]
    mona = as_user("mona", "public")
    page = mona.get("/costs/").content.decode()
    assert "3.00" in page and "0.50" in page


def test_the_rollup_command_rebuilds_from_the_records(hartwell: Any, dearborn: Any) -> None:
    from io import StringIO

    from django.core.management import call_command

    _calls(hartwell, "0.40", "0.60")
    rollup.record(hartwell.pk, this_month(), tokens=5, cost_usd=Decimal("9"))  # drifted: no call behind it
    out = StringIO()
    call_command("gaby", "usage-rollup", "--rebuild", "--months", "1", "--client", "hartwell", stdout=out)
    assert "Rebuilt 1 month row(s) for 1 client(s)" in out.getvalue()
    assert f"hartwell\t{this_month():%Y-%m}\t2 calls\t240 tokens\t$1.000000" in out.getvalue()
    with pytest.raises(Exception, match="no Gaby client"):
        call_command("gaby", "usage-rollup", "--client", "nobody")


def test_the_migration_counts_the_calls_recorded_before_the_rollup(hartwell: Any) -> None:
    import importlib
    from types import SimpleNamespace

    from django.apps import apps as django_apps

    from apps.llm.models import LLMCall
    from tenants.models import MonthlyUsage

    with tenant_context(hartwell):
        for usd in ("0.25", "0.50"):  # recorded by a Gaby without the rollup: the calls alone
            LLMCall.objects.create(workflow="reply", provider_kind="openai", provider_name="OpenAI", model="m",
                                   prompt_name="reply", prompt_version=1, prompt_hash="x", input_tokens=10,
                                   cost_usd=Decimal(usd), status="ok")  # fmt: skip
    connection.set_schema_to_public()  # type: ignore[attr-defined]
    MonthlyUsage.objects.all().delete()
    migration = importlib.import_module("tenants.migrations.0007_monthly_usage")
    migration.backfill(django_apps, SimpleNamespace(connection=connection))
    assert rollup.month_usage(hartwell.pk, this_month()) == rollup.MonthTotals(2, 20, Decimal("0.75"))
