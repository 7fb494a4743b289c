"""The Admin's page for outbound webhooks: endpoints (secret shown once), and the delivery log with redelivery."""

from __future__ import annotations

from typing import Any
from uuid import UUID

from django.core.exceptions import ValidationError
from django.db.models import Prefetch
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, render_page
from apps.tickets.forms import WebhookEndpointForm
from apps.tickets.outbound import services
from apps.tickets.outbound.models import WebhookAttempt, WebhookDelivery, WebhookEndpoint

LOG_SIZE = 100


def get_endpoint_for_client(request: ClientRequest, endpoint_id: UUID) -> WebhookEndpoint:
    """Scoped accessor: an endpoint in the current client's schema (no other client's rows are reachable)."""
    return get_object_or_404(WebhookEndpoint, pk=endpoint_id)


def get_delivery_for_client(request: ClientRequest, delivery_id: UUID) -> WebhookDelivery:
    return get_object_or_404(WebhookDelivery.objects.select_related("event", "endpoint"), pk=delivery_id)


def delivery_log(endpoint_id: UUID | None = None) -> list[WebhookDelivery]:
    qs = WebhookDelivery.objects.select_related("event", "endpoint").prefetch_related(
        Prefetch("attempt_log", queryset=WebhookAttempt.objects.order_by("number"))
    )
    if endpoint_id:
        qs = qs.filter(endpoint_id=endpoint_id)
    return list(qs.order_by("-created_at")[:LOG_SIZE])


def _render(request: ClientRequest, *, partial: str = "", status: int = 200, **extra: Any) -> HttpResponse:
    context = {
        "endpoints": list(WebhookEndpoint.objects.order_by("created_at")),
        "deliveries": delivery_log(),
        "form": extra.pop("form", None) or WebhookEndpointForm(),
        **extra,
    }
    return render_page(request, "tickets/webhooks.html", context, partial=partial, status=status)


@require_role(Role.ADMIN)
def webhooks(request: ClientRequest) -> HttpResponse:
    return _render(request)


@require_POST
@require_role(Role.ADMIN)
def create_endpoint(request: ClientRequest) -> HttpResponse:
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, partial="endpoints", status=400)
    try:
        endpoint, secret = services.create_endpoint(
            client=request.tenant,
            url=form.cleaned_data["url"],
            event_types=form.cleaned_data["events"],
            description=form.cleaned_data["description"],
            actor=request.user,
        )
    except ValidationError as exc:
        form.add_error(None, exc)
        return _render(request, form=form, partial="endpoints", status=400)
    return _render(request, partial="endpoints", new_secret=secret, secret_endpoint=endpoint)


@require_POST
@require_role(Role.ADMIN)
def update_endpoint(request: ClientRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = get_endpoint_for_client(request, endpoint_id)
    form = WebhookEndpointForm(request.POST)
    if not form.is_valid():
        return _render(request, partial="endpoints", status=400, endpoint_errors=form.errors)
    services.update_endpoint(
        endpoint=endpoint,
        url=form.cleaned_data["url"],
        event_types=form.cleaned_data["events"],
        enabled=form.cleaned_data["enabled"],
        actor=request.user,
    )
    return _render(request, partial="endpoints")


@require_POST
@require_role(Role.ADMIN)
def rotate_secret(request: ClientRequest, endpoint_id: UUID) -> HttpResponse:
    endpoint = get_endpoint_for_client(request, endpoint_id)
    secret = services.rotate_secret(client=request.tenant, endpoint=endpoint, actor=request.user)
    return _render(request, partial="endpoints", new_secret=secret, secret_endpoint=endpoint)


@require_POST
@require_role(Role.ADMIN)
def delete_endpoint(request: ClientRequest, endpoint_id: UUID) -> HttpResponse:
    services.delete_endpoint(endpoint=get_endpoint_for_client(request, endpoint_id), actor=request.user)
    return _render(request, partial="endpoints")


@require_POST
@require_role(Role.ADMIN)
def redeliver(request: ClientRequest, delivery_id: UUID) -> HttpResponse:
    delivery = get_delivery_for_client(request, delivery_id)
    if not services.redeliver(delivery=delivery, actor=request.user):
        return _render(request, partial="deliveries", status=409, notice="That delivery is already on its way.")
    return _render(request, partial="deliveries", notice="Queued again with the same event id.")
