"""Approving outside the web queue: the confirm page of signed links (email, Teams, Slack without a signing
secret) and Slack's interactivity endpoint. Both end in the same approve/reject as the Approvals page."""

from __future__ import annotations

import json
from typing import Any

import structlog
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from apps.accounts.access import membership_for, public_view
from apps.accounts.models import User
from apps.safety import enforcement
from apps.safety.client_settings import channels
from apps.safety.notify.links import BadLink
from apps.safety.notify.service import Refused, decide_from_link, decide_from_slack, open_link, verify_slack_signature
from apps.safety.notify.webhooks import TransientWebhookError, WebhookClient, WebhookError

log = structlog.get_logger(__name__)


def _session_user(request: HttpRequest) -> User | None:
    user = request.user
    return user if user.is_authenticated and isinstance(user, User) else None


@public_view
@require_http_methods(["GET", "POST"])
def confirm(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows what would be decided and a button; only the POST (with its CSRF token) decides.

    Public, because an emailed link identifies its approver; a link posted to a channel needs a sign-in.
    """
    context: dict[str, Any] = {"token": token}
    user = _session_user(request)
    if user is not None and membership_for(user, request.tenant) is None:  # type: ignore[attr-defined]
        # Signed in, but not a member here: the same answer as every other page of this client (GOV-2).
        raise PermissionDenied("You are not a member of this client.")
    try:
        target = open_link(token=token, session_user=_session_user(request))
    except BadLink as exc:
        return render(request, "safety/confirm.html", {**context, "error": str(exc)}, status=400)
    except Refused as exc:
        return render(request, "safety/confirm.html", {**context, "error": str(exc), "sign_in": True}, status=403)
    context.update(action=target.action, decision=target.claim.decision, actor=target.actor)
    if request.method == "POST":
        try:
            action = decide_from_link(
                token=token, session_user=_session_user(request), note=request.POST.get("note", "").strip()
            )
            context.update(action=action, done=True)
        except enforcement.ActionError as exc:
            context["error"] = str(exc)
            return render(request, "safety/confirm.html", context, status=409)
    return render(request, "safety/confirm.html", context)


def _reply_in_slack(response_url: str, text: str) -> None:
    """Replace the buttons with the outcome (best effort: the decision stands either way). The URL comes from
    a payload whose signature was verified, so it is Slack's."""
    if not response_url.startswith(("https://", "http://")):
        return
    try:
        WebhookClient().post_json(response_url, {"replace_original": True, "text": text})
    except (WebhookError, TransientWebhookError) as exc:
        log.warning("slack_response_failed", error=str(exc))


@public_view
@csrf_exempt  # Slack signs the request instead (verified before anything is read)
def slack_interactions(request: HttpRequest) -> HttpResponse:
    chans = channels(request.tenant)  # type: ignore[attr-defined]
    try:
        verify_slack_signature(
            signing_secret=chans.slack_signing_secret,
            body=request.body,
            timestamp=request.headers.get("X-Slack-Request-Timestamp", ""),
            signature=request.headers.get("X-Slack-Signature", ""),
        )
    except Refused as exc:
        return HttpResponse(str(exc), status=403, content_type="text/plain")
    if request.method != "POST":
        return HttpResponse("Slack sends interactions with POST.", status=405, content_type="text/plain")
    try:
        payload = json.loads(request.POST.get("payload", ""))
    except json.JSONDecodeError:
        return HttpResponse("Expected a form field 'payload' holding JSON.", status=400, content_type="text/plain")
    if not isinstance(payload, dict) or payload.get("type") != "block_actions":
        return HttpResponse(status=200)  # other interaction types: acknowledge, nothing to do
    try:
        _action, text = decide_from_slack(payload=payload, chans=chans)
    except (Refused, BadLink, enforcement.ActionError) as exc:
        text = str(exc)
    _reply_in_slack(str(payload.get("response_url", "")), text)
    return JsonResponse({"text": text})
