"""The client's Slack page (Admin): add Gaby to Slack, pick the channels it listens to and who may ask, remove it."""

from __future__ import annotations

import logging

from django.contrib import messages
from django.http import HttpResponse
from django.shortcuts import redirect
from django.views.decorators.http import require_POST
from slack_sdk.errors import SlackApiError

from apps.accounts.access import require_role
from apps.accounts.models import Role
from apps.auditlog.audit import record
from apps.auditlog.models import ActorKind
from apps.chat.models import ChatSurfaceInstall, Surface
from apps.chat.surfaces import routing
from apps.chat.surfaces.slack import install as slack_install
from apps.chat.surfaces.slack.forms import SlackSettingsForm
from apps.core.http import ClientRequest, render_page

log = logging.getLogger(__name__)


def _install() -> ChatSurfaceInstall | None:
    return ChatSurfaceInstall.objects.filter(kind=Surface.SLACK, enabled=True).first() or (
        ChatSurfaceInstall.objects.filter(kind=Surface.SLACK).exclude(sealed_bot_token="").first()
    )


def _choices(request: ClientRequest, row: ChatSurfaceInstall) -> tuple[list[tuple[str, str]], str]:
    try:
        found = slack_install.channels(request.tenant, row)
    except (SlackApiError, OSError) as exc:
        log.warning("slack conversations.list failed", extra={"error": str(exc)})
        found, error = [], "Slack did not list the channels just now; the saved ones are kept."
    else:
        error = ""
    choices = [(c["id"], f"#{c['name']}") for c in found]
    known = {value for value, _ in choices}
    choices += [(channel, channel) for channel in row.channels if channel not in known]
    return choices, error


def _page(request: ClientRequest, *, form: SlackSettingsForm | None = None, status: int = 200) -> HttpResponse:
    row = _install()
    context: dict[str, object] = {
        "install": row,
        "configured": slack_install.configured(),
        "scopes": slack_install.SCOPES,
    }
    if row is not None:
        choices, channels_error = _choices(request, row)
        context["channels_error"] = channels_error
        context["form"] = form or SlackSettingsForm(
            channel_choices=choices,
            initial={
                "channels": row.channels,
                "access": row.access,
                "allowed": "\n".join(row.allowed),
                "enabled": row.enabled,
                "approvals_channel": row.approvals_channel,
            },
        )
    return render_page(request, "chat/slack.html", context, status=status)


@require_role(Role.ADMIN)
def slack_page(request: ClientRequest) -> HttpResponse:
    return _page(request)


@require_POST
@require_role(Role.ADMIN)
def slack_install_start(request: ClientRequest) -> HttpResponse:
    if not slack_install.configured():
        messages.error(request, "Slack is not configured on this Gaby: ask your MSP to set GABY_SLACK_CLIENT_ID.")
        return redirect("chat:slack")
    return redirect(slack_install.authorize_url(client=request.tenant, user=request.user))


@require_POST
@require_role(Role.ADMIN)
def slack_settings(request: ClientRequest) -> HttpResponse:
    row = _install()
    if row is None:
        messages.error(request, "Add Gaby to Slack first.")
        return redirect("chat:slack")
    choices, _error = _choices(request, row)
    form = SlackSettingsForm(request.POST, channel_choices=choices)
    if not form.is_valid():
        return _page(request, form=form, status=400)
    row.channels = form.cleaned_data["channels"]
    row.access = form.cleaned_data["access"]
    row.allowed = form.cleaned_data["allowed"]
    row.enabled = form.cleaned_data["enabled"]
    row.approvals_channel = form.cleaned_data["approvals_channel"]
    row.save(update_fields=["channels", "access", "allowed", "enabled", "approvals_channel"])
    record(
        event="chat.slack_settings_saved",
        actor_kind=ActorKind.USER,
        actor_id=request.user.pk,
        payload={
            "workspace": row.workspace_id,
            "channels": row.channels,
            "access": row.access,
            "approvals_channel": row.approvals_channel,
        },
    )
    messages.success(request, "Slack settings saved.")
    return redirect("chat:slack")


@require_POST
@require_role(Role.ADMIN)
def slack_uninstall(request: ClientRequest) -> HttpResponse:
    row = _install()
    if row is not None:
        routing.uninstall(client=request.tenant, install_row=row)
        record(
            event="chat.slack_removed",
            actor_kind=ActorKind.USER,
            actor_id=request.user.pk,
            payload={"workspace": row.workspace_id},
        )
        messages.success(request, f"Gaby no longer answers in {row.display_name or row.workspace_id}.")
    return redirect("chat:slack")
