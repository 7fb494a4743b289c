"""CON-3/SAF-1: the connector scope and autonomy editor (Admins). Every change is audited and goes into the
connector's consent log (GOV-5)."""

from __future__ import annotations

from uuid import UUID

from django import forms
from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import get_object_or_404
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.connectors.models import AutonomyLevel, Connector, ConnectorTool, EventKind, ScopeMode
from apps.core.http import ClientRequest, partial_or_redirect, render_page
from apps.safety import services
from apps.safety.classification import classify
from apps.safety.forms import TestIdForm


class ConnectorSafetyForm(TestIdForm):
    autonomy = forms.ChoiceField(choices=AutonomyLevel.choices)
    scope = forms.ChoiceField(choices=ScopeMode.choices, label="Default scope")
    is_production = forms.BooleanField(
        required=False, label="Production system", help_text="Writes need an explicit allow rule (SRE-1)."
    )


class ToolScopeForm(forms.Form):
    scope = forms.ChoiceField(choices=[("", "Connector's scope"), *ScopeMode.choices], required=False)


def get_connector_for_client(request: ClientRequest, connector_id: UUID) -> Connector:
    """Scoped accessor: connectors live in the current client's schema only."""
    return get_object_or_404(Connector, pk=connector_id)


def get_tool_for_connector(connector: Connector, tool_id: UUID) -> ConnectorTool:
    return get_object_or_404(ConnectorTool.objects.select_related("connector"), pk=tool_id, connector=connector)


def _tool_rows(connector: Connector) -> list[dict[str, object]]:
    return [
        {"tool": tool, "classification": classify(connector, tool), "effective": tool.scope or connector.scope}
        for tool in connector.tools.filter(present=True)
    ]


@require_role(Role.ADMIN)
def connector_list(request: ClientRequest) -> HttpResponse:
    return render_page(request, "safety/connectors.html", {"connectors": Connector.objects.all()})


def _render_editor(
    request: ClientRequest,
    connector: Connector,
    form: ConnectorSafetyForm | None = None,
    *,
    status: int = 200,
    partial: str = "",
) -> HttpResponse:
    initial = {"autonomy": connector.autonomy, "scope": connector.scope, "is_production": connector.is_production}
    context = {
        "connector": connector,
        "form": form or ConnectorSafetyForm(initial=initial),
        "rows": _tool_rows(connector),
        "scope_choices": ToolScopeForm.base_fields["scope"].choices,  # type: ignore[attr-defined]
        "consent": connector.events.filter(kind=EventKind.CONSENT)[:20],
    }
    return render_page(request, "safety/connector_scopes.html", context, partial=partial, status=status)


@require_role(Role.ADMIN)
def connector_editor(request: ClientRequest, connector_id: UUID) -> HttpResponse:
    connector = get_connector_for_client(request, connector_id)
    if request.method != "POST":
        return _render_editor(request, connector)
    form = ConnectorSafetyForm(request.POST)
    if not form.is_valid():
        return _render_editor(request, connector, form, status=400, partial="settings")
    diff = services.configure_connector(connector=connector, actor=request.user, **form.cleaned_data)
    messages.success(request, f"Saved: {', '.join(diff)}." if diff else "Nothing changed.")
    return partial_or_redirect(
        request, lambda: _render_editor(request, connector, partial="settings"), "safety:connector_editor", connector.pk
    )


@require_POST
@require_role(Role.ADMIN)
def tool_scope(request: ClientRequest, connector_id: UUID, tool_id: UUID) -> HttpResponse:
    connector = get_connector_for_client(request, connector_id)
    tool = get_tool_for_connector(connector, tool_id)
    form = ToolScopeForm(request.POST)
    if not form.is_valid():
        messages.error(request, "Pick read_only, read_write, dry_run, or the connector's scope.")
        return _render_editor(request, connector, status=400, partial="tools")
    services.set_tool_scope(tool=tool, scope=form.cleaned_data["scope"], actor=request.user)
    return partial_or_redirect(
        request, lambda: _render_editor(request, connector, partial="tools"), "safety:connector_editor", connector.pk
    )
