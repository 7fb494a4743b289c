"""``/costs`` on the MSP portal (MSP-10, OBS-5): what Gaby's models cost, by client and month, one client's month
by workflow, connector and user, the ledger as CSV, and each client's plan and quota (edited here, audited).

MSP staff only: a client's users never see the other clients' figures. The figures are the billing app's
(apps/billing/costs.py); this module draws them (apps/insights/charts.py) and answers the form.
"""

from __future__ import annotations

from django.http import HttpResponse, HttpResponseBadRequest
from django.shortcuts import get_object_or_404, redirect
from django.views.decorators.http import require_GET, require_POST
from django_tenants.utils import get_public_schema_name

from apps.accounts.access import msp_staff_required
from apps.billing import costs, plans
from apps.billing.usage import ledger
from apps.billing.usage_csv import usage_csv
from apps.core.http import GabyRequest, render_page, render_part
from apps.core.months import this_month
from apps.insights.charts import Series, bars
from tenants.models import Client

TEMPLATE = "insights/costs.html"


@require_GET
@msp_staff_required
def costs_page(request: GabyRequest) -> HttpResponse:
    try:
        page = costs.page(
            month_param=request.GET.get("month", ""),
            span_param=request.GET.get("months", ""),
            client_param=request.GET.get("client", ""),
        )
    except costs.BadInput as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    labels, series = costs.chart_series(page)
    by_month = bars(labels, [Series(name, values) for name, values in series], title="Model spend by month", unit="USD")
    names, spend = costs.client_bars(page)
    by_client = bars(names, [Series("Spend", spend)], title=f"Model spend by client, {page.month:%B %Y}", unit="USD")
    context = {
        "page": page,
        "by_month": by_month,
        "by_client": by_client,
        "span_choices": costs.SPAN_CHOICES,
        "current_month": this_month(),
    }
    return render_page(request, TEMPLATE, context)


@require_GET
@msp_staff_required
def costs_csv(request: GabyRequest) -> HttpResponse:
    """The ledger of the months the page shows for the same ``month`` and ``months`` as a CSV download."""
    try:
        months, _, _ = costs.shown_months(request.GET.get("month", ""), request.GET.get("months", ""))
    except costs.BadInput as exc:
        return HttpResponseBadRequest(str(exc), content_type="text/plain; charset=utf-8")
    clients = list(Client.objects.exclude(schema_name=get_public_schema_name()))
    rows = ledger(months[0], months[-1], schemas=[c.schema_name for c in clients])
    body = usage_csv(rows, {c.schema_name: c.name for c in clients})
    response = HttpResponse(body, content_type="text/csv; charset=utf-8")
    name = f"gaby-costs-{months[0]:%Y-%m}-to-{months[-1]:%Y-%m}.csv"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@require_POST
@msp_staff_required
def save_plan(request: GabyRequest, slug: str) -> HttpResponse:
    client = get_object_or_404(Client.objects.exclude(schema_name=get_public_schema_name()), slug=slug)
    totals = costs.month_totals(client, this_month())
    quota = costs.quota_of(client, totals, data=request.POST)
    if not quota.form.is_valid():
        return render_part(request, f"{TEMPLATE}#quota", {"quota": quota}, status=400)
    data = quota.form.cleaned_data
    plans.assign_plan(
        client=client,
        plan=data["plan"],
        monthly_tokens=data["monthly_tokens"],
        monthly_usd=data["monthly_usd"],
        seats=data["seats"],
        actor=request.user,
    )
    if not request.htmx:  # a plain form post: back to the page (post/redirect/get)
        return redirect("portal_costs")
    return render_part(request, f"{TEMPLATE}#quota", {"quota": costs.quota_of(client, totals, saved=True)})
