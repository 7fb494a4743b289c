"""The per-client safety settings page (Admins): autonomy, approval threshold and expiry, compliance profile,
ticket-source autonomy, approval channels, and a live preview of what the policy would do to a tool call."""

from __future__ import annotations

from uuid import UUID

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.core.compliance import PROFILES
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.core.redaction import PATTERNS
from apps.safety import services
from apps.safety.client_settings import channels, safety_settings
from apps.safety.forms import ChannelsForm, PreviewForm, SafetySettingsForm, SourceAutonomyForm
from apps.safety.preview import preview_decision
from apps.tickets.models import SourceAutonomy, TicketSource


def get_source_for_client(request: ClientRequest, source_id: UUID) -> TicketSource:
    """Scoped accessor: ticket sources live in the current client's schema only."""
    return get_object_or_404(TicketSource, pk=source_id)


def _initial(request: ClientRequest) -> dict[str, object]:
    row = safety_settings()
    client = request.tenant
    return {
        "autonomy": client.autonomy,
        "approval_threshold": client.approval_threshold,
        "approval_ttl_hours": row.approval_ttl_hours,
        "compliance_profile": client.compliance_profile,
        "admin_approval_risk": row.admin_approval_risk,
        "notify_email": row.notify_email,
    }


def _render(
    request: ClientRequest,
    *,
    form: SafetySettingsForm | None = None,
    channels_form: ChannelsForm | None = None,
    status: int = 200,
    partial: str = "",
) -> HttpResponse:
    form = form or SafetySettingsForm(initial=_initial(request))
    profiles = [
        {
            "profile": profile,
            "patterns": [PATTERNS[name] for name in profile.patterns],
            "providers": sorted(profile.allowed_providers),
            "selected": profile.name == (form["compliance_profile"].value() or request.tenant.compliance_profile),
        }
        for profile in PROFILES.values()
    ]
    context = {
        "form": form,
        "preview_form": PreviewForm(),
        "profiles": profiles,
        "sources": TicketSource.objects.all(),
        "source_choices": SourceAutonomy.choices,
        "channels_form": channels_form or ChannelsForm(),
        "channels": channels(request.tenant),
    }
    return render_page(request, "safety/settings.html", context, partial=partial, status=status)


@require_role(Role.ADMIN)
def settings_page(request: ClientRequest) -> HttpResponse:
    if request.method != "POST":
        return _render(request)
    form = SafetySettingsForm(request.POST)
    if not form.is_valid():
        return _render(request, form=form, status=400, partial="settings")
    request.tenant = services.update_safety_settings(client=request.tenant, actor=request.user, **form.cleaned_data)
    messages.success(request, "Safety settings saved.")
    return partial_or_redirect(request, lambda: _render(request, partial="settings"), "safety:settings")


@require_role(Role.ADMIN)
def preview(request: ClientRequest) -> HttpResponse:
    """GET only: it decides, records nothing and sends nothing."""
    settings_form, call_form = SafetySettingsForm(request.GET), PreviewForm(request.GET)
    context: dict[str, object] = {"errors": [], "result": None}
    if not settings_form.is_valid() or not call_form.is_valid():
        context["errors"] = [
            f"{field}: {' '.join(str(e) for e in errors)}"
            for form in (settings_form, call_form)
            for field, errors in form.errors.items()
        ]
        return render_page(request, "safety/settings.html", context, partial="preview", status=400)
    values, call = settings_form.cleaned_data, call_form.cleaned_data
    context["result"] = preview_decision(
        client=request.tenant,
        autonomy=values["autonomy"],
        approval_threshold=values["approval_threshold"],
        connector=call["preview_connector"],
        tool_name=call["preview_tool"],
        arguments=call["preview_arguments"],
        source=call["preview_source"],
    )
    return render_page(request, "safety/settings.html", context, partial="preview")


@require_POST
@require_role(Role.ADMIN)
def source_autonomy(request: ClientRequest, source_id: UUID) -> HttpResponse:
    source = get_source_for_client(request, source_id)
    form = SourceAutonomyForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick investigate, propose, act, or no limit.")
        return _render(request, status=400, partial="sources")
    services.set_source_autonomy(source=source, autonomy=form.cleaned_data["autonomy"], actor=request.user)
    return partial_or_redirect(request, lambda: _render(request, partial="sources"), "safety:settings")


@require_POST
@require_role(Role.ADMIN)
def update_channels(request: ClientRequest) -> HttpResponse:
    form = ChannelsForm(request.POST)
    if not form.is_valid():
        return _render(request, channels_form=form, status=400, partial="channels")
    changed = services.update_channels(client=request.tenant, changes=form.changes(), actor=request.user)
    messages.success(request, f"Saved: {', '.join(changed)}." if changed else "Nothing changed.")
    return partial_or_redirect(request, lambda: _render(request, partial="channels"), "safety:settings")
