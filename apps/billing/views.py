"""The billing rules page (Settings → Billing rules) and the Time panel's buttons on a ticket's page."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.billing import services
from apps.billing.forms import BillingRuleForm
from apps.billing.models import BillingRule, TimeRecord
from apps.billing.panel import TEMPLATE as PANEL
from apps.billing.panel import panel_context
from apps.billing.rules import takes_time
from apps.core.http import ClientRequest, render_page, render_part
from apps.tickets.models import TicketSource
from apps.tickets.selectors import get_ticket_for_client

RULE = "billing/_rule.html"


def _sources() -> list[TicketSource]:
    return [source for source in TicketSource.objects.order_by("name") if takes_time(source)]


def _item(source: TicketSource | None, *, data: Any = None, saved: bool = False) -> dict[str, Any]:
    rule = (
        BillingRule.objects.filter(source=source).first()
        if source
        else BillingRule.objects.filter(source__isnull=True).first()
    )
    kinds = {source.kind} if source else {s.kind for s in _sources()}
    return {
        "source": source,
        "rule": rule,
        "form": BillingRuleForm(data, instance=rule or BillingRule(source=source), source_kinds=kinds),
        "saved": saved,
        "slot": f"rule-{source.pk if source else 'default'}",
    }


def rules(request: ClientRequest) -> HttpResponse:
    items = [_item(None)] + [_item(source) for source in _sources()]
    return render_page(
        request, "billing/rules.html", {"items": items, "can_manage": request.membership.allows(Role.ADMIN)}
    )


@require_POST
@require_role(Role.ADMIN)
def save_rule(request: ClientRequest) -> HttpResponse:
    source = _source_of(request.POST.get("source", ""))
    item = _item(source, data=request.POST)
    form = item["form"]
    if not form.is_valid():
        return render_part(request, RULE, {**item, "can_manage": True}, status=400)
    services.save_rule(source=source, changes=form.cleaned_data, actor=request.user)
    return render_part(request, RULE, {**_item(source, saved=True), "can_manage": True})


@require_POST
@require_role(Role.ADMIN)
def delete_rule(request: ClientRequest) -> HttpResponse:
    source = _source_of(request.POST.get("source", ""))
    if source is None:
        raise Http404("The default rule is changed, not deleted.")
    rule = BillingRule.objects.filter(source=source).first()
    if rule is not None:
        services.delete_rule(rule=rule, actor=request.user)
    return render_part(request, RULE, {**_item(source), "can_manage": True})


def _source_of(value: str) -> TicketSource | None:
    if not value:
        return None
    try:
        return get_object_or_404(TicketSource, pk=UUID(value))
    except ValueError:
        raise Http404("No such ticket source.") from None


def ticket_time(request: ClientRequest, ticket_id: UUID) -> HttpResponse:
    ticket = get_ticket_for_client(request, ticket_id)
    return render_part(request, PANEL, panel_context(ticket, can_write=request.membership.allows(Role.AGENT)))


@require_POST
def decide_time(request: ClientRequest, ticket_id: UUID, record_id: UUID) -> HttpResponse:
    """Write a failed or unconfirmed record again, or mark it as already in the PSA (Agent role)."""
    ticket = get_ticket_for_client(request, ticket_id)
    record = get_object_or_404(TimeRecord, pk=record_id, ticket=ticket)
    action = request.POST.get("action", "")
    if action not in {"write_again", "mark_written"}:
        context = panel_context(ticket, can_write=True, error="Choose write_again or mark_written.")
        return render_part(request, PANEL, context, status=400)
    error = ""
    if not services.decide(record=record, write_again=action == "write_again", actor=request.user):
        error = "That time record has changed meanwhile: see its state below."
    if not request.htmx:
        messages.info(request, error or "Done.")
    return render_part(request, PANEL, panel_context(ticket, can_write=True, error=error))
