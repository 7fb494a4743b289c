"""The Models page: which LLM providers a client uses and which model serves each workflow (LLM-2, LLM-4)."""

from __future__ import annotations

from datetime import timedelta
from uuid import UUID

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.db.models import Count, Sum
from django.http import HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import timezone
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.llm import services
from apps.llm.forms import ProviderForm, RouteForm
from apps.llm.models import LLMCall, LLMProvider, ModelRoute, Workflow


def get_provider_for_client(request: ClientRequest, provider_id: UUID) -> LLMProvider:
    """Scoped accessor: providers live in the client's schema, so the lookup cannot reach another client."""
    return get_object_or_404(LLMProvider, pk=provider_id)


def _spend() -> dict[str, object]:
    since = timezone.now() - timedelta(days=30)
    totals = LLMCall.objects.filter(created_at__gte=since).aggregate(
        calls=Count("id"), usd=Sum("cost_usd"), tokens_in=Sum("input_tokens"), tokens_out=Sum("output_tokens")
    )
    return {key: value or 0 for key, value in totals.items()}


def _render(
    request: ClientRequest, *, route_form: RouteForm | None = None, status: int = 200, partial: str = ""
) -> HttpResponse:
    routes = {route.workflow: route for route in ModelRoute.objects.select_related("provider")}
    context = {
        "providers": LLMProvider.objects.annotate(route_count=Count("routes")),
        "workflows": [(value, label, routes.get(value)) for value, label in Workflow.choices],
        "route_form": route_form or RouteForm(),
        "spend": _spend(),
        "can_manage": request.membership.allows(Role.ADMIN),
    }
    return render_page(request, "llm/models.html", context, partial=partial, status=status)


def index(request: ClientRequest) -> HttpResponse:
    return _render(request)


def _provider_page(
    request: ClientRequest, form: ProviderForm, provider: LLMProvider | None, status: int = 200
) -> HttpResponse:
    context = {"form": form, "provider": provider, "can_manage": request.membership.allows(Role.ADMIN)}
    return render_page(request, "llm/provider.html", context, status=status)


@require_role(Role.ADMIN)
def provider_new(request: ClientRequest) -> HttpResponse:
    return _save_provider(request, None)


@require_role(Role.ADMIN)
def provider_edit(request: ClientRequest, provider_id: UUID) -> HttpResponse:
    return _save_provider(request, get_provider_for_client(request, provider_id))


def _save_provider(request: ClientRequest, provider: LLMProvider | None) -> HttpResponse:
    if request.method != "POST":
        return _provider_page(request, ProviderForm.for_provider(provider) if provider else ProviderForm(), provider)
    form = ProviderForm(request.POST)
    if not form.is_valid():
        return _provider_page(request, form, provider, status=400)
    try:
        saved = services.save_provider(
            client=request.tenant,
            provider=provider,
            name=form.cleaned_data["name"],
            kind=form.cleaned_data["kind"],
            api_base=form.cleaned_data["api_base"],
            credentials=form.credentials(),
            options=form.options(),
            actor=request.user,
        )
    except ValidationError as exc:
        for field, errors in exc.message_dict.items():
            form.add_error(field if field in form.fields else None, errors)
        return _provider_page(request, form, provider, status=400)
    messages.success(request, f"Provider {saved.name} saved.")
    return redirect("llm:index")


@require_POST
@require_role(Role.ADMIN)
def provider_enabled(request: ClientRequest, provider_id: UUID) -> HttpResponse:
    provider = get_provider_for_client(request, provider_id)
    services.set_provider_enabled(provider=provider, enabled=request.POST.get("enabled") == "1", actor=request.user)
    return partial_or_redirect(request, lambda: _render(request, partial="providers"), "llm:index")


@require_POST
@require_role(Role.ADMIN)
def route_save(request: ClientRequest) -> HttpResponse:
    form = RouteForm(request.POST)
    if not form.is_valid():
        return _render(request, route_form=form, status=400, partial="routes")
    data = form.cleaned_data
    services.set_route(
        workflow=data["workflow"],
        provider=data["provider"],
        model=data["model"],
        fallbacks=data["fallbacks"],
        max_output_tokens=data["max_output_tokens"],
        temperature=data["temperature"],
        timeout_seconds=data["timeout_seconds"],
        actor=request.user,
    )
    messages.success(request, f"{Workflow(data['workflow']).label} now uses {data['provider'].name}/{data['model']}.")
    return partial_or_redirect(request, lambda: _render(request, partial="routes"), "llm:index")


@require_POST
@require_role(Role.ADMIN)
def route_clear(request: ClientRequest, workflow: str) -> HttpResponse:
    services.clear_route(workflow=workflow, actor=request.user)
    return partial_or_redirect(request, lambda: _render(request, partial="routes"), "llm:index")


def route_edit(request: ClientRequest, workflow: str) -> HttpResponse:
    """The route form filled with a workflow's current route (htmx swaps it into place)."""
    route = ModelRoute.objects.filter(workflow=workflow).first()
    form = RouteForm.for_route(route) if route else RouteForm(initial={"workflow": workflow})
    return _render(request, route_form=form, partial="routes")
