"""``gaby slack-demo replay``: install Slack on a demo client against the Slack stand-in and replay a conversation.

Everything runs in this process, through the real path: the stand-in (sandbox/slack.py) serves Slack's Web API over
HTTP on a free port; Gaby's install is written as an OAuth install would (token sealed, workspace routed); each event
is signed as Slack signs it and sent through Django's full request stack to the events endpoint, where Bolt verifies
and acknowledges it; the answer tasks run in place (Celery eager) and post to the stand-in. The thread is printed as
Slack would show it. A demo aid only: the stand-in is not a production dependency.
"""

from __future__ import annotations

import json
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.chat.surfaces.teams import cli as teams_cli

SIGNING_SECRET = "slack-demo-signing-secret"
SCRIPT = (
    ("U0ALICE", "How do I reset a user's VPN password?"),
    ("U0ALICE", "Please reset the VPN password for my account"),
    ("U0ALICE", "Can I talk to a person?"),
)


def register(subparsers: Any, command: BaseCommand) -> None:
    demo = subparsers.add_parser("slack-demo", help="Try the Slack app against the Slack stand-in (no Slack needed).")
    actions = demo.add_subparsers(dest="slack_demo_action", metavar="ACTION", required=True)
    replay = actions.add_parser("replay", help="Install Slack on a demo client and replay a conversation in a thread.")
    replay.add_argument("--client", default="hartwell", help="The demo client's slug (default: hartwell).")
    replay.add_argument("--channel", default="C0HELPDESK", help="The stand-in channel to mention Gaby in.")
    replay.set_defaults(handler=replay_conversation)
    teams_cli.register(subparsers, command)  # teams-manifest, teams-install, teams-demo


def _show(sandbox: Any, channel: str, thread_ts: str, seen: set[str], command: BaseCommand) -> None:
    for message in sandbox.thread(channel, thread_ts):
        if message.ts not in seen:
            seen.add(message.ts)
            command.stdout.write(f"  Gaby: {message.text}\n")


def replay_conversation(command: BaseCommand, options: dict[str, Any]) -> None:
    from celery import current_app
    from django.test import Client as HttpClient
    from django.test.utils import override_settings

    from apps.chat.surfaces import routing
    from sandbox.slack import SlackSandbox, sign
    from tenants.models import Client

    client = Client.objects.filter(schema_name=options["client"]).first()
    if client is None:
        raise CommandError(f"No client {options['client']!r}: run ./gaby run (or gaby demo) to seed the demo first.")
    channel = options["channel"]
    with (
        SlackSandbox() as sandbox,
        override_settings(SLACK_SIGNING_SECRET=SIGNING_SECRET, SLACK_API_URL=sandbox.base_url + "/api/"),
    ):
        routing.install(
            client=client,
            kind="slack",
            workspace_id=sandbox.team["id"],
            display_name=f"{sandbox.team['name']} (stand-in)",
            bot_token=sandbox.bot_token,
            bot_user_id=sandbox.bot_user_id,
            channels=[channel],
        )
        command.stdout.write(
            f"Slack stand-in at {sandbox.base_url}; installed on {client.name}, listening in {channel}.\n"
        )
        eager, current_app.conf.task_always_eager = current_app.conf.task_always_eager, True
        http = HttpClient(HTTP_HOST="localhost")
        thread_ts, seen = "", set[str]()
        try:
            for user, text in SCRIPT:
                event = sandbox.mention(user=user, channel=channel, text=text, thread_ts=thread_ts)
                thread_ts = thread_ts or event["event"]["ts"]
                body = json.dumps(event).encode()
                command.stdout.write(f"\n  {sandbox.users[user]['real_name']}: {text}\n")
                response = http.post(
                    "/integrations/slack/events/",
                    body,
                    content_type="application/json",
                    headers=sign(SIGNING_SECRET, body),
                )
                if response.status_code != 200:
                    raise CommandError(f"The events endpoint answered {response.status_code}: {response.content!r}")
                deadline = time.monotonic() + 30
                while time.monotonic() < deadline and len(sandbox.thread(channel, thread_ts)) <= len(seen):
                    time.sleep(0.1)
                time.sleep(0.5)
                _show(sandbox, channel, thread_ts, seen, command)
        finally:
            current_app.conf.task_always_eager = eager
        command.stdout.write(
            f"\nThe conversation is in {client.name}'s Inbox with a Slack badge (filter: Slack); the request became a "
            "ticket of the Slack source.\n"
        )
