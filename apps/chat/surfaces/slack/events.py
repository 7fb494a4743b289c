"""The Slack events endpoint: a Bolt app that verifies, acknowledges, then hands each message to ``receive``.

Bolt checks Slack's signature and timestamp (a bad one is answered 401 and nothing runs), answers
``url_verification``, and acknowledges every event before its listener runs on Bolt's thread pool
(``process_before_response`` off): Slack hears back at once, and the answer is written by the Celery task
``receive`` queues. ``authorize`` resolves the event's team to its client (``routing.client_for``) and that client's
install: an unknown team is refused there (logged by the route lookup; Bolt acknowledges and runs nothing).
A retried event (``X-Slack-Retry-Num``) carries the same ``event_id``: the delivery ledger answers it once.

Listeners: ``app_mention`` (in a channel the install listens to) and ``message`` in a direct message
(``message.im``). Each queues the event for a worker (``chat.slack_event``), which looks the user up with
``users.info`` (cached a few minutes): the email Slack verified for them is who the conversation acts for; a user
without one is told politely that Gaby cannot help them here.
"""

from __future__ import annotations

import logging
import re
from functools import lru_cache
from typing import Any

from django.conf import settings
from django_tenants.utils import tenant_context
from slack_bolt import App
from slack_bolt.adapter.django import SlackRequestHandler
from slack_bolt.authorization import AuthorizeResult
from slack_sdk import WebClient
from slack_sdk.errors import SlackApiError

from apps.chat.models import Surface
from apps.chat.surfaces import answer, routing
from apps.chat.surfaces.base import Inbound, TransientSurfaceError, installed, receive
from apps.chat.surfaces.slack import notices, users
from apps.chat.surfaces.slack.outbound import web_client
from apps.core.tasks import enqueue

log = logging.getLogger(__name__)
MENTION = re.compile(r"<@[UW][A-Z0-9]+>")


def authorize(enterprise_id: str | None, team_id: str | None, logger: Any, **_: Any) -> AuthorizeResult | None:
    client = routing.client_for(Surface.SLACK, team_id or "")
    if client is None:
        return None
    with tenant_context(client):
        row = installed(Surface.SLACK, team_id or "")
        token = routing.bot_token(client, row) if row is not None else ""
    if not token or row is None:
        log.warning("slack event for a disabled install", extra={"workspace": team_id, "client": client.schema_name})
        return None
    return AuthorizeResult(
        enterprise_id=enterprise_id, team_id=team_id, bot_token=token, bot_user_id=row.bot_user_id or None
    )


def handle_message(
    body: dict[str, Any], event: dict[str, Any], client: WebClient, *, direct: bool, answer_now: bool = False
) -> str:
    """One event to ``receive`` inside its client's schema; returns the outcome (for logs and tests). With
    ``answer_now`` (a worker's task) the answer is written here, not queued as another task."""
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return "ignored"  # Gaby's own posts, edits, joins: not someone asking
    team_id = str(body.get("team_id") or event.get("team") or "")
    tenant = routing.client_for(Surface.SLACK, team_id)
    if tenant is None:
        return "unknown-team"
    channel, user_id = str(event.get("channel", "")), str(event["user"])
    thread_ts = str(event.get("thread_ts") or ("" if direct else event.get("ts", "")))
    email, name = users.lookup(client, user_id, team_id=team_id)
    text = MENTION.sub("", str(event.get("text", ""))).strip()
    inbound = Inbound(
        surface=Surface.SLACK,
        workspace_id=team_id,
        conversation_key=f"{team_id}:{channel}:{thread_ts}",
        delivery_id=str(body.get("event_id") or f"{channel}:{event.get('ts')}"),
        user_id=user_id,
        user_email=email,
        user_name=name,
        text=text,
        is_direct=direct,
        channel_id=channel,
    )
    with tenant_context(tenant):
        received = receive(inbound, queue_answer=not answer_now)
        if answer_now and received.outcome == "queued":
            try:
                answer.answer(received.delivery_id)  # claims it: answered once whoever gets there first
            except TransientSurfaceError:  # Slack busy: the answer task retries it with backoff
                enqueue("chat.answer_surface", received.delivery_id, task_id=f"chat-answer-{received.delivery_id}")
    if received.reply:
        try:
            client.chat_postEphemeral(channel=channel, user=user_id, text=received.reply, thread_ts=thread_ts or None)
        except SlackApiError as exc:
            log.warning("slack ephemeral refusal failed", extra={"error": str(exc)})
    return received.outcome


def _queue(body: dict[str, Any], event: dict[str, Any], *, direct: bool) -> None:
    """After the acknowledgement: the event goes to a worker (``chat.slack_event``), which looks the user up and
    calls ``receive``; a web process only verifies, acknowledges and queues."""
    if event.get("bot_id") or event.get("subtype") or not event.get("user"):
        return  # Gaby's own posts, edits, joins: not someone asking
    enqueue("chat.slack_event", body, direct)


def process(body: dict[str, Any], *, direct: bool) -> str:
    """The ``chat.slack_event`` task's body: the team's client and bot token, then ``handle_message``."""
    team_id = str(body.get("team_id") or "")
    tenant = routing.client_for(Surface.SLACK, team_id)
    if tenant is None:
        return "unknown-team"
    with tenant_context(tenant):
        row = installed(Surface.SLACK, team_id)
        token = routing.bot_token(tenant, row) if row is not None else ""
    if not token:
        return "not-installed"
    return handle_message(body, dict(body.get("event") or {}), web_client(token), direct=direct, answer_now=True)


def build_app(signing_secret: str, api_url: str) -> App:
    app = App(
        signing_secret=signing_secret,
        authorize=authorize,  # type: ignore[arg-type]  # None is Bolt's "not installed here" (documented)
        client=web_client(base_url=api_url),
        token_verification_enabled=False,
        process_before_response=False,
        raise_error_for_unhandled_request=False,
    )

    @app.event("app_mention")
    def on_mention(body: dict[str, Any], event: dict[str, Any]) -> None:
        _queue(body, event, direct=False)

    @app.event("message")
    def on_message(body: dict[str, Any], event: dict[str, Any]) -> None:
        if event.get("channel_type") == "im":
            _queue(body, event, direct=True)

    @app.action(re.compile(r"^gaby_(approve|reject)$"))
    def on_decision(ack: Any, body: dict[str, Any], client: WebClient, respond: Any) -> None:
        ack()  # Slack hears back at once; the decision and the new text follow
        respond(replace_original=True, text=notices.decide(body, client))

    @app.action(re.compile(r"^gaby_open_"))
    def on_link(ack: Any) -> None:
        ack()  # a link button: Slack opens the URL itself, Gaby only acknowledges

    return app


@lru_cache(maxsize=4)
def bolt_handler(signing_secret: str, api_url: str) -> SlackRequestHandler:
    """The app and its Django adapter, built once (the adapter wires the app's listener runner when created)."""
    return SlackRequestHandler(build_app(signing_secret, api_url))


def current_handler() -> SlackRequestHandler | None:
    """The Bolt handler for the configured signing secret (None: Slack is not configured on this install)."""
    secret = settings.SLACK_SIGNING_SECRET
    return bolt_handler(secret, settings.SLACK_API_URL) if secret else None
