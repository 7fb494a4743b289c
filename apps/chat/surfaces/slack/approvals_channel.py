"""The Slack install as the approvals channel (apps/safety/notify/slack_app.py): approval and escalation notices
posted with the install's bot token into the channel its client's Admin chose on the Slack page. Slack's refusals
become the webhook seam's errors, so the notice ledgers retry and fail as they do for a webhook: 429 and 5xx (and a
network error) are passing, anything else (``channel_not_found``, ``not_in_channel``, a revoked token) is for good
and its message says what to fix."""

from __future__ import annotations

from typing import Any

from slack_sdk.errors import SlackApiError

from apps.chat.models import ChatSurfaceInstall, Surface
from apps.chat.surfaces import routing
from apps.chat.surfaces.slack.outbound import web_client
from apps.core.retry import retry_after_seconds
from apps.safety.notify import slack_app
from apps.safety.notify.webhooks import TransientWebhookError, WebhookError
from tenants.models import Client


def _install() -> ChatSurfaceInstall | None:
    return ChatSurfaceInstall.objects.filter(kind=Surface.SLACK, enabled=True).exclude(approvals_channel="").first()


class SlackAppNotices:
    def channel_for(self, client: Client) -> str | None:
        install = _install()
        return install.approvals_channel if install is not None else None

    def post(self, client: Client, channel: str, message: dict[str, Any]) -> None:
        install = _install()
        if install is None or install.approvals_channel != channel:
            raise WebhookError("The Slack approvals channel was changed or removed; the notice was not sent.")
        api = web_client(routing.bot_token(client, install))
        try:
            api.chat_postMessage(channel=channel, text=str(message.get("text") or ""), blocks=message.get("blocks"))
        except SlackApiError as exc:
            status, error = exc.response.status_code, str(exc.response.get("error") or exc)
            if status == 429 or status >= 500:
                retry = retry_after_seconds(exc.response.headers.get("Retry-After"))
                raise TransientWebhookError(f"Slack answered {status}: {error}", retry_after=retry) from None
            hint = " Invite the Gaby app to that channel." if error == "not_in_channel" else ""
            raise WebhookError(f"Slack refused the notice in {channel}: {error}.{hint}") from None
        except OSError as exc:
            raise TransientWebhookError(f"Could not reach Slack: {exc.__class__.__name__}") from None


slack_app.register(SlackAppNotices())
