"""The Slack app's public endpoints (on the portal host: one URL for every client's workspace)."""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST
from slack_bolt.adapter.django import SlackRequestHandler

from apps.accounts.access import public_view
from apps.chat.surfaces.slack.events import current_app

NOT_CONFIGURED = "Slack is not configured on this Gaby: set GABY_SLACK_SIGNING_SECRET (see docs/guides/slack.md)."


@public_view
@csrf_exempt  # Slack signs its requests instead; Bolt verifies the signature before anything is read
@require_POST
def events(request: HttpRequest) -> HttpResponse:
    app = current_app()
    if app is None:
        return HttpResponse(NOT_CONFIGURED, status=503, content_type="text/plain")
    return SlackRequestHandler(app).handle(request)
