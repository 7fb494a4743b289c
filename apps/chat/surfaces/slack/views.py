"""The Slack app's public endpoints (on the portal host: one URL for every client's workspace)."""

from __future__ import annotations

from django.contrib import messages
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_POST

from apps.accounts.access import public_view
from apps.chat.surfaces.slack import install as slack_install
from apps.chat.surfaces.slack.events import current_handler
from apps.safety.notify.links import absolute_url

NOT_CONFIGURED = "Slack is not configured on this Gaby: set GABY_SLACK_SIGNING_SECRET (see docs/guides/slack.md)."


@public_view
@csrf_exempt  # Slack signs its requests instead; Bolt verifies the signature before anything is read
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    handler = current_handler()
    if handler is None:
        return HttpResponse(NOT_CONFIGURED, status=503, content_type="text/plain")
    return handler.handle(request)


@public_view  # Slack redirects the browser here; the signed state and the signed-in user are checked in ``complete``
@require_GET
def oauth_callback(request: HttpRequest) -> HttpResponse:
    if request.GET.get("error"):
        return HttpResponse(
            f"Slack did not install Gaby ({request.GET['error'][:100]}). Go back to the client's Slack page to retry.",
            status=400,
            content_type="text/plain",
        )
    try:
        done = slack_install.complete(
            code=request.GET.get("code", "")[:500], state=request.GET.get("state", "")[:2000], user=request.user
        )
    except slack_install.InstallRefused as exc:
        return HttpResponse(str(exc), status=400, content_type="text/plain")
    messages.success(request, f"Gaby is installed in {done.install.display_name or done.install.workspace_id}.")
    return HttpResponseRedirect(absolute_url(done.client, "/chat/slack/"))
