"""A client's investigation settings: auto-investigate, depth, tone, no-LLM threshold, budget, escalation."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.agent.forms import AgentSettingsForm
from apps.agent.investigations import save_settings
from apps.agent.runtime import settings_for
from apps.core.http import ClientRequest, render_page


def agent_settings(request: ClientRequest) -> HttpResponse:
    if request.method == "POST":
        return _save(request)
    form = AgentSettingsForm(instance=settings_for(), client=request.tenant)
    return render_page(
        request, "agent/settings.html", {"form": form, "can_manage": request.membership.allows(Role.ADMIN)}
    )


@require_role(Role.ADMIN)
def _save(request: ClientRequest) -> HttpResponse:
    form = AgentSettingsForm(request.POST, instance=settings_for(), client=request.tenant)
    if not form.is_valid():
        return render_page(request, "agent/settings.html", {"form": form, "can_manage": True}, status=400)
    save_settings(changes=form.cleaned_data, actor=request.user)
    messages.success(request, "Investigation settings saved.")
    return redirect("agent:settings")
