"""The client's Teams page (Admin): which tenant reaches this client, the channels Gaby listens to, who may ask,
turning it off or removing it. Connecting a tenant is the MSP's (``gaby teams-install``): a tenant id typed on a
client's page proves nothing about owning it, while the MSP's partner mapping does."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.chat.models import ChatSurfaceInstall, Surface
from apps.chat.surfaces import install_settings
from apps.chat.surfaces.teams.forms import TeamsSettingsForm
from apps.core.http import ClientRequest, render_page


def _install() -> ChatSurfaceInstall | None:
    return ChatSurfaceInstall.objects.filter(kind=Surface.TEAMS).order_by("-enabled", "-installed_at").first()


def _page(request: ClientRequest, *, form: TeamsSettingsForm | None = None, status: int = 200) -> HttpResponse:
    row = _install()
    context: dict[str, object] = {"install": row}
    if row is not None:
        context["form"] = form or TeamsSettingsForm(
            initial={
                "channels": "\n".join(row.channels),
                "access": row.access,
                "allowed": "\n".join(row.allowed),
                "enabled": row.enabled,
            }
        )
    return render_page(request, "chat/teams.html", context, status=status)


@require_role(Role.ADMIN)
def teams_page(request: ClientRequest) -> HttpResponse:
    return _page(request)


@require_POST
@require_role(Role.ADMIN)
def teams_settings(request: ClientRequest) -> HttpResponse:
    row = _install()
    if row is None:
        messages.error(request, "Your MSP has not connected a Microsoft Teams tenant to this client yet.")
        return redirect("chat:teams")
    form = TeamsSettingsForm(request.POST)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    install_settings.save(row=row, cleaned=form.cleaned_data, actor=request.user)
    messages.success(request, "Teams settings saved.")
    return redirect("chat:teams")


@require_POST
@require_role(Role.ADMIN)
def teams_uninstall(request: ClientRequest) -> HttpResponse:
    row = _install()
    if row is not None:
        install_settings.remove(client=request.tenant, row=row, actor=request.user)
        messages.success(request, f"Gaby no longer answers in Teams for tenant {row.workspace_id}.")
    return redirect("chat:teams")
