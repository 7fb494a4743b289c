"""Slack as the approval and escalation channel of a client that installed Gaby in Slack.

Approvals: the Approve/Reject buttons of an approval notice (apps/safety/notify/compose.py: ``gaby_approve`` /
``gaby_reject``) are handled by the same Bolt app as the events, on the interactivity URL: Bolt verifies the
signature and acknowledges, then ``decide`` maps the clicking Slack user to a Gaby approver by the email Slack
verified for them (``users.info``) — or the client's explicit Slack-user map, kept for webhook-only clients — and
decides through ``apps.safety.notify.service.decide_from_slack``, the one decision path.

Escalations (FND-7): ``escalation_dm`` sends each escalation recipient (the founder or on-call person set in the
investigation settings) a direct message: ``users.lookupByEmail``, ``conversations.open`` and ``chat.postMessage``
with "Open in <help desk>" (the ticket's page in Zendesk, Freshdesk, … as its source's adapter gives it; Gaby's own
ticket page, "Open the ticket", for a source with none) and "Open the investigation" buttons. Claimed once per
investigation in the delivery ledger.
"""

from __future__ import annotations

import dataclasses
import logging
from typing import Any

from django.db import IntegrityError, transaction
from django.urls import reverse
from django_tenants.utils import tenant_context
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from apps.agent.escalation_notices import escalation_recipients, summary
from apps.agent.models import Investigation
from apps.agent.runtime import settings_for
from apps.chat.models import ChatSurfaceInstall, DeliveryState, Surface, SurfaceDelivery
from apps.chat.surfaces import routing
from apps.chat.surfaces.outbound import TransientSurfaceError
from apps.chat.surfaces.slack.outbound import web_client
from apps.chat.surfaces.slack.users import user_email
from apps.safety import enforcement
from apps.safety.client_settings import channels
from apps.safety.notify.compose import escape_mrkdwn
from apps.safety.notify.links import BadLink, absolute_url
from apps.safety.notify.service import Refused, decide_from_slack
from apps.tickets.links import help_desk_link

log = logging.getLogger(__name__)


def decide(body: dict[str, Any], client: WebClient) -> str:
    """One Approve/Reject click (a verified ``block_actions`` payload); returns the text that replaces the buttons."""
    team_id = str((body.get("team") or {}).get("id") or "")
    tenant = routing.client_for(Surface.SLACK, team_id)
    if tenant is None:
        return "This Slack workspace is not connected to Gaby."
    slack_user = str((body.get("user") or {}).get("id") or "")
    email = user_email(client, slack_user)
    with tenant_context(tenant):
        chans = channels(tenant)
        if email and slack_user not in chans.slack_users:
            chans = dataclasses.replace(chans, slack_users={**chans.slack_users, slack_user: email})
        try:
            _action, text = decide_from_slack(payload=body, chans=chans)
        except (Refused, BadLink, enforcement.ActionError) as exc:
            text = str(exc)
    return text


def _ticket_button(tenant: Any, investigation: Investigation) -> tuple[str, str]:
    """The first button's label and link: the ticket in its help desk, else Gaby's ticket page."""
    found = help_desk_link(tenant, investigation.ticket)
    if found is not None:
        return f"Open in {found.label}", found.url
    return "Open the ticket", absolute_url(tenant, reverse("tickets:detail", args=[investigation.ticket_id]))


def _blocks(facts: dict[str, Any], ticket_button: tuple[str, str]) -> list[dict[str, Any]]:
    lines = [
        f"*{escape_mrkdwn(facts['title'])}*",
        f"Client: {escape_mrkdwn(facts['client'])} · Verdict: {escape_mrkdwn(facts['verdict'])}",
    ]
    lines += [f"Why: {escape_mrkdwn(facts['why'])}", f"Summary: {escape_mrkdwn(facts['summary'])}"]
    return [
        {"type": "section", "text": {"type": "mrkdwn", "text": "\n".join(lines)}},
        {
            "type": "actions",
            "elements": [
                {
                    "type": "button",
                    "action_id": "gaby_open_ticket",
                    "text": {"type": "plain_text", "text": ticket_button[0][:75]},  # Slack's button text limit
                    "url": ticket_button[1],
                },
                {
                    "type": "button",
                    "action_id": "gaby_open_investigation",
                    "text": {"type": "plain_text", "text": "Open the investigation"},
                    "url": facts["link"],
                    "style": "primary",
                },
            ],
        },
    ]


def escalation_dm(investigation_id: str) -> str:
    """DM every escalation recipient who has a Slack account in the client's workspace (inside its schema)."""
    install = ChatSurfaceInstall.objects.filter(kind=Surface.SLACK, enabled=True).first()
    investigation = Investigation.objects.select_related("ticket__source").filter(pk=investigation_id).first()
    if install is None or investigation is None:
        return "no-install" if install is None else "gone"
    recipients = escalation_recipients(settings_for())
    if not recipients:
        return "no-recipient"
    try:
        with transaction.atomic():
            claim = SurfaceDelivery.objects.create(
                surface=Surface.SLACK, delivery_id=f"escalation-dm:{investigation.pk}"
            )
    except IntegrityError:
        return "sent-before"
    tenant = routing.current_client()
    facts = summary(tenant, investigation)
    ticket_button = _ticket_button(tenant, investigation)
    api = web_client(routing.bot_token(tenant, install))
    sent = 0
    try:
        for email in recipients:
            try:
                user = api.users_lookupByEmail(email=email)["user"]["id"]
            except SlackApiError as exc:
                if exc.response.status_code == 429 or exc.response.status_code >= 500:
                    raise
                log.info("escalation recipient has no Slack account here", extra={"email": email})
                continue
            dm = api.conversations_open(users=user)["channel"]["id"]
            api.chat_postMessage(channel=dm, text=facts["title"], blocks=_blocks(facts, ticket_button))
            sent += 1
    except (SlackApiError, OSError) as exc:
        SurfaceDelivery.objects.filter(pk=claim.pk).delete()  # the retry sends again (nobody got it yet, or some)
        raise TransientSurfaceError(f"Slack could not take the escalation DM: {exc}") from exc
    SurfaceDelivery.objects.filter(pk=claim.pk).update(state=DeliveryState.DONE)
    return f"sent {sent}"
