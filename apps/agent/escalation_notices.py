"""Announce an escalation (SRE-7) by email, Slack and Teams: the evidence summary and a link to the investigation.

Slack and Teams go through the approval notices' seam (``apps.safety.notify.webhooks.WebhookClient``) to the
webhooks the client set once under Safety → Approval channels — or, for Slack, through the client's Slack app into
the approvals channel chosen on its Slack page (``apps.safety.notify.slack_app``); the investigation settings only
say whether escalations go there too. Each channel gets one ``EscalationNotice`` row (unique per investigation), claimed
with a conditional UPDATE before sending: a retried task re-sends only what failed, never what was sent.
Ticket text, the model's summary and tool output are untrusted: Slack text is escaped, Teams gets plain
TextBlocks, and nothing from them becomes a link.
"""

from __future__ import annotations

import smtplib
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db import connection, transaction
from django.db.models import F
from django.urls import reverse
from django.utils import timezone

from apps.accounts.models import User
from apps.agent.models import AgentSettings, EscalationNotice, Investigation
from apps.agent.runtime import settings_for
from apps.auditlog import audit
from apps.core.tasks import enqueue
from apps.safety.client_settings import Channels, channels
from apps.safety.models import NoticeChannel, NoticeState
from apps.safety.notify import slack_app
from apps.safety.notify.compose import escape_mrkdwn
from apps.safety.notify.links import absolute_url
from apps.safety.notify.webhooks import TransientWebhookError, WebhookClient, WebhookError
from tenants.models import Client

MAX_ATTEMPTS = 5
MAX_TEXT = 600
MAX_EVIDENCE = 5


def escalation_recipients(agent_settings: AgentSettings) -> list[str]:
    """Who an escalation is emailed to: the escalation address, else the active escalation assignee, else nobody."""
    if agent_settings.escalation_email:
        return [agent_settings.escalation_email]
    if agent_settings.escalation_assignee_id:
        active = User.objects.filter(pk=agent_settings.escalation_assignee_id, is_active=True)
        email = active.values_list("email", flat=True).first()
        return [email] if email else []
    return []


def _short(text: str, limit: int = MAX_TEXT) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def evidence_lines(investigation: Investigation) -> list[str]:
    """What the escalation rests on: the cited passages and tool results, by label (at most five)."""
    labels = [str(c.get("label") or c.get("ref") or "") for c in investigation.citations or []]
    return [_short(label, 160) for label in labels if label][:MAX_EVIDENCE]


def summary(client: Client, investigation: Investigation) -> dict[str, Any]:
    """The facts every channel shows."""
    return {
        "title": f"Escalated: {_short(investigation.ticket.title, 150)}",
        "client": client.name,
        "verdict": investigation.get_verdict_display(),
        "why": _short(investigation.escalation_reason or investigation.failure_reason or "-"),
        "summary": _short(investigation.summary or "-"),
        "evidence": evidence_lines(investigation),
        "steps": investigation.steps.count(),
        "link": absolute_url(client, reverse("agent:detail", args=[investigation.pk])),
    }


def slack_message(facts: dict[str, Any]) -> dict[str, Any]:
    evidence = "\n".join(f"• {escape_mrkdwn(line)}" for line in facts["evidence"]) or "• (nothing cited)"
    text = (
        f"*{escape_mrkdwn(facts['title'])}* for {escape_mrkdwn(facts['client'])} — {facts['verdict']}\n"
        f"*Why:* {escape_mrkdwn(facts['why'])}\n*Summary:* {escape_mrkdwn(facts['summary'])}"
    )
    return {
        "text": f"{facts['title']} ({facts['verdict']})",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {
                "type": "section",
                "text": {"type": "mrkdwn", "text": f"*Evidence ({facts['steps']} steps):*\n{evidence}"},
            },
            {
                "type": "actions",
                "elements": [
                    {
                        "type": "button",
                        "action_id": "gaby_open_investigation",
                        "text": {"type": "plain_text", "text": "Open the investigation"},
                        "url": facts["link"],
                    }
                ],
            },
        ],
    }


def teams_message(facts: dict[str, Any]) -> dict[str, Any]:
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": facts["title"], "wrap": True},
            {
                "type": "FactSet",
                "facts": [
                    {"title": "Client", "value": facts["client"]},
                    {"title": "Verdict", "value": facts["verdict"]},
                    {"title": "Steps", "value": str(facts["steps"])},
                ],
            },
            {"type": "TextBlock", "text": f"Why: {facts['why']}", "wrap": True},
            {"type": "TextBlock", "text": f"Summary: {facts['summary']}", "wrap": True},
            {
                "type": "TextBlock",
                "text": "Evidence: " + ("; ".join(facts["evidence"]) or "nothing cited"),
                "wrap": True,
            },
        ],
        "actions": [{"type": "Action.OpenUrl", "title": "Open the investigation", "url": facts["link"]}],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }


def email_body(facts: dict[str, Any]) -> str:
    evidence = "\n".join(f"- {line}" for line in facts["evidence"]) or "- (nothing cited)"
    return (
        f"Gaby {facts['title'][0].lower()}{facts['title'][1:]} ({facts['verdict']}).\n\n"
        f"Why: {facts['why']}\n\nSummary: {facts['summary']}\n\nEvidence:\n{evidence}\n\n"
        f"Open the investigation: {facts['link']}\n\n"
        "The evidence bundle (timeline, queries, results, citations) is attached to the ticket as an internal note."
    )


def _plan(investigation: Investigation, agent_settings: AgentSettings, chans: Channels) -> None:
    planned = []
    recipients = escalation_recipients(agent_settings)
    if recipients:
        planned.append((NoticeChannel.EMAIL, ", ".join(recipients)))
    client = connection.tenant  # type: ignore[attr-defined]
    if agent_settings.escalation_slack and (chans.slack or slack_app.target(client)):
        planned.append((NoticeChannel.SLACK, ""))
    if agent_settings.escalation_teams and chans.teams:
        planned.append((NoticeChannel.TEAMS, ""))
    EscalationNotice.objects.bulk_create(
        [EscalationNotice(investigation=investigation, channel=channel, recipient=to) for channel, to in planned],
        ignore_conflicts=True,
    )


def _deliver(notice: EscalationNotice, facts: dict[str, Any], chans: Channels, http: WebhookClient) -> None:
    if notice.channel == NoticeChannel.EMAIL:
        subject = f"[Gaby] {facts['title']}"
        send_mail(subject, email_body(facts), settings.DEFAULT_FROM_EMAIL, notice.recipient.split(", "))
    elif notice.channel == NoticeChannel.SLACK:
        client = connection.tenant  # type: ignore[attr-defined]
        channel = slack_app.target(client)
        if channel:  # the client's Slack app install and its approvals channel, rather than the webhook
            slack_app.post(client, channel, slack_message(facts))
        else:
            http.post_json(chans.slack_webhook_url, slack_message(facts))
    else:
        http.post_json(chans.teams_webhook_url, teams_message(facts))


def send_escalation_notices(investigation_id: str, *, http: WebhookClient | None = None) -> tuple[int, int]:
    """Announce one escalation on every configured channel: ``(sent now, planned in all)``. Raises
    ``TransientWebhookError`` after trying every channel when one failed for a passing reason."""
    investigation = Investigation.objects.select_related("ticket").filter(pk=investigation_id).first()
    if investigation is None:
        return 0, 0
    client = connection.tenant  # type: ignore[attr-defined]
    chans, http = channels(client), http or WebhookClient()
    agent_settings = settings_for()
    _plan(investigation, agent_settings, chans)
    if escalation_recipients(agent_settings):  # FND-7: a Slack DM too, when the client installed Gaby in Slack
        pk = investigation.pk
        transaction.on_commit(lambda: enqueue("chat.escalation_dm", str(pk), task_id=f"chat-escalation-dm-{pk}"))
    notices = list(investigation.notices.all())
    facts = summary(client, investigation)
    sent, transient = 0, None
    for notice in notices:
        if notice.state not in {NoticeState.PENDING, NoticeState.FAILED} or notice.attempts >= MAX_ATTEMPTS:
            continue
        claimed = EscalationNotice.objects.filter(pk=notice.pk, state=notice.state, attempts=notice.attempts).update(
            state=NoticeState.SENDING, attempts=F("attempts") + 1
        )
        if not claimed:
            continue  # another worker has it
        try:
            _deliver(notice, facts, chans, http)
        except (TransientWebhookError, smtplib.SMTPException, OSError) as exc:
            transient = exc if isinstance(exc, TransientWebhookError) else TransientWebhookError(str(exc))
            EscalationNotice.objects.filter(pk=notice.pk).update(state=NoticeState.FAILED, last_error=str(exc)[:2000])
        except WebhookError as exc:  # refused for good: keep the error, stop retrying
            EscalationNotice.objects.filter(pk=notice.pk).update(
                state=NoticeState.FAILED, last_error=str(exc)[:2000], attempts=MAX_ATTEMPTS
            )
        else:
            EscalationNotice.objects.filter(pk=notice.pk).update(state=NoticeState.SENT, sent_at=timezone.now())
            audit.record(
                event="escalation.notice_sent",
                payload={"investigation": str(investigation.pk), "channel": notice.channel},
            )
            sent += 1
    if transient is not None:
        raise transient
    return sent, len(notices)
