"""What an approval request says on each channel. Tool arguments come from an agent that read untrusted text:
they are shown as data (code blocks, escaped), never as links or markup."""

from __future__ import annotations

import json
from typing import Any

from django.urls import reverse
from django.utils import timezone

from apps.safety.models import NoticeChannel, ToolAction
from apps.safety.notify.links import absolute_url, confirm_url, make_token
from tenants.models import Client

MAX_ARGUMENTS = 1500


def _arguments(action: ToolAction) -> str:
    text = json.dumps(action.arguments, indent=2, ensure_ascii=False, sort_keys=True)
    return text if len(text) <= MAX_ARGUMENTS else text[:MAX_ARGUMENTS] + "\n… (truncated)"


def headline(action: ToolAction) -> str:
    return f"Approval needed: {action.connector.name} → {action.tool_name} (risk {action.risk})"


def _expires(action: ToolAction) -> str:
    if action.expires_at is None:
        return "never"
    return timezone.localtime(action.expires_at).strftime("%Y-%m-%d %H:%M %Z")


def email(client: Client, action: ToolAction, user_id: str) -> tuple[str, str]:
    """Subject and body of the email to one approver, with links bound to them."""
    links = {
        decision: confirm_url(
            client, make_token(action_id=str(action.pk), decision=decision, schema=client.schema_name, user_id=user_id)
        )
        for decision in ("approve", "reject")
    }
    body = (
        f"{headline(action)} for {client.name}.\n\n"
        f"Why it waits: {action.reason}\n"
        + (f"Requested for: {action.purpose}\n" if action.purpose else "")
        + f"Expires: {_expires(action)}\n\nArguments:\n{_arguments(action)}\n\n"
        f"Approve: {links['approve']}\nReject: {links['reject']}\n\n"
        "Each link opens a confirmation page; nothing happens until you confirm there. The links are for you "
        f"only and work once. All waiting actions: {absolute_url(client, reverse('safety:approvals'))}\n"
    )
    return f"[{client.name}] {headline(action)}", body


def escape_mrkdwn(text: str) -> str:
    """Text for Slack's mrkdwn with its control characters escaped: untrusted text cannot mention @channel, link or
    format as Slack syntax (https://docs.slack.dev/messaging/formatting-message-text#escaping)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def slack(client: Client, action: ToolAction, *, interactive: bool) -> dict[str, Any]:
    """Block Kit message: Approve/Reject buttons answered by the interactivity endpoint, or — without a
    signing secret — links to the confirm page."""

    def token(decision: str) -> str:
        return make_token(
            action_id=str(action.pk), decision=decision, schema=client.schema_name, channel=NoticeChannel.SLACK
        )

    def button(decision: str, label: str, style: str) -> dict[str, Any]:
        element: dict[str, Any] = {
            "type": "button",
            "action_id": f"gaby_{decision}",
            "style": style,
            "text": {"type": "plain_text", "text": label},
        }
        if interactive:
            element["value"] = token(decision)
        else:
            element["url"] = confirm_url(client, token(decision))
        return element

    arguments = escape_mrkdwn(_arguments(action).replace("```", "'''"))
    text = f"*{escape_mrkdwn(headline(action))}* for {escape_mrkdwn(client.name)}\n{escape_mrkdwn(action.reason)}"
    if action.purpose:
        text += f"\nFor: {escape_mrkdwn(action.purpose)}"
    return {
        "text": f"{headline(action)} for {client.name}",
        "blocks": [
            {"type": "section", "text": {"type": "mrkdwn", "text": text}},
            {"type": "section", "text": {"type": "mrkdwn", "text": f"```{arguments}```"}},
            {"type": "context", "elements": [{"type": "mrkdwn", "text": f"Expires {_expires(action)}"}]},
            {
                "type": "actions",
                "block_id": f"gaby_approval:{action.pk}",
                "elements": [button("approve", "Approve", "primary"), button("reject", "Reject", "danger")],
            },
        ],
    }


def teams(client: Client, action: ToolAction) -> dict[str, Any]:
    """An Adaptive Card for a Teams incoming webhook (Workflows or the classic connector); its buttons open the
    confirm page, where the approver signs in and confirms."""

    def link(decision: str) -> str:
        token = make_token(
            action_id=str(action.pk), decision=decision, schema=client.schema_name, channel=NoticeChannel.TEAMS
        )
        return confirm_url(client, token)

    facts = [
        {"title": "Client", "value": client.name},
        {"title": "Connector", "value": action.connector.name},
        {"title": "Tool", "value": action.tool_name},
        {"title": "Risk", "value": str(action.risk)},
        {"title": "Expires", "value": _expires(action)},
    ]
    card = {
        "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
        "type": "AdaptiveCard",
        "version": "1.4",
        "body": [
            {"type": "TextBlock", "size": "Medium", "weight": "Bolder", "text": headline(action), "wrap": True},
            {"type": "TextBlock", "text": action.reason, "wrap": True},
            {"type": "FactSet", "facts": facts},
            {"type": "TextBlock", "text": _arguments(action), "wrap": True, "fontType": "Monospace"},
        ],
        "actions": [
            {"type": "Action.OpenUrl", "title": "Approve…", "url": link("approve")},
            {"type": "Action.OpenUrl", "title": "Reject…", "url": link("reject")},
        ],
    }
    return {
        "type": "message",
        "attachments": [
            {"contentType": "application/vnd.microsoft.card.adaptive", "contentUrl": None, "content": card}
        ],
    }
