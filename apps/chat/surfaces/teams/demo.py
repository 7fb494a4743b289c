"""``gaby teams-demo replay``: a demo Teams conversation against the stand-ins, through Gaby's real endpoint.

It starts the Bot Connector stand-in (``sandbox.teams``), points this process's Teams settings at it, installs Gaby
for a demo tenant of the chosen client (``--client``, default hartwell), then plays a short script — a personal
chat question, a channel @mention, a request for a person — as signed activities POSTed to ``/teams/messages``
through Django's request handling in this process, answers them with the same code the ``chat.answer_surface``
task runs, and prints the thread as the stand-in's Bot Connector received it. The conversations stay: the inbox
shows them with their Teams badge.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from django.core.management.base import CommandError
from django.test import Client as RequestClient
from django.test.utils import override_settings
from django_tenants.utils import tenant_context

from sandbox.teams import TeamsSandbox
from sandbox.teams_emulator import TeamsEmulator, TeamsUser
from tenants.models import Client

DEMO_APP_ID = "00000000-0000-4000-8000-00000000b07a"
DEMO_SECRET = "demo-bot-secret"
DEMO_TENANT = "7e57d300-0000-4000-8000-000000000001"
DEMO_USER = TeamsUser("d300d300-0000-4000-8000-00000000a11e", "Jordan Demo")
CHANNEL = "19:demo-general@thread.tacv2"
TEAM = "19:demo-team@thread.tacv2"


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("teams-demo", help="Replay a demo Teams conversation against the stand-ins.")
    parser.add_argument("action", choices=["replay"], help="replay: run the demo conversation and print it.")
    parser.add_argument("--client", default="hartwell", help="The client whose Teams it is (slug).")
    parser.add_argument("--host", default="", help="The portal host to POST to (default GABY_BASE_DOMAIN).")
    parser.set_defaults(handler=replay)


SCRIPT: tuple[tuple[str, str], ...] = (
    ("personal", "How do I reset my VPN password?"),
    ("channel", "The VPN disconnects every hour, what should I do?"),
    ("personal", "Can I talk to a person please?"),
)


@contextmanager
def _stand_in(email: str) -> Iterator[TeamsSandbox]:
    members = {DEMO_USER.aad_object_id: {"email": email, "name": DEMO_USER.name}}
    with (
        TeamsSandbox({DEMO_APP_ID: DEMO_SECRET}, members) as sandbox,
        override_settings(
            TEAMS_APP_ID=DEMO_APP_ID,
            TEAMS_APP_PASSWORD=DEMO_SECRET,
            TEAMS_TOKEN_URL=sandbox.token_url,
            TEAMS_OPENID_METADATA_URL=sandbox.metadata_url,
            TEAMS_SERVICE_URL=sandbox.service_url,
            TEAMS_CHECK_SERVICE_HOSTS=False,
        ),
    ):
        yield sandbox


def _answer_queued(client: Client) -> list[str]:
    from apps.chat.models import DeliveryState, SurfaceDelivery
    from apps.chat.surfaces import answer

    with tenant_context(client):
        queued = SurfaceDelivery.objects.filter(state=DeliveryState.QUEUED).order_by("received_at")
        return [answer.answer(str(pk)) for pk in queued.values_list("pk", flat=True)]


def _card_lines(reply: dict[str, Any]) -> list[str]:
    cards = [a.get("content", {}) for a in reply.get("attachments") or []]
    return [str(block.get("text", "")) for card in cards for block in card.get("body", [])]


def replay(command: Any, options: dict[str, Any]) -> None:
    from django.conf import settings

    from apps.chat.surfaces import routing

    client = Client.objects.filter(slug=options["client"]).first()
    if client is None:
        raise CommandError(f"No client {options['client']!r}: run ./gaby run once to seed the demo clients.")
    email = f"jordan.demo@{client.slug}.example"
    routing.install(
        client=client,
        kind="teams",
        workspace_id=DEMO_TENANT,
        display_name=f"{client.name} (demo Teams)",
        bot_token="",
        channels=[CHANNEL],
    )
    host = options["host"] or settings.BASE_DOMAIN
    with _stand_in(email) as sandbox:
        emulator = TeamsEmulator(sandbox, DEMO_APP_ID, DEMO_TENANT)
        web = RequestClient(HTTP_HOST=host)
        for where, text in SCRIPT:
            seen = len(sandbox.posted)
            if where == "personal":
                activity = emulator.personal(DEMO_USER, text)
            else:
                activity = emulator.channel_mention(DEMO_USER, text, team_id=TEAM, channel_id=CHANNEL)
            started = time.monotonic()
            response = web.post(
                "/teams/messages",
                data=activity,
                content_type="application/json",
                headers={"Authorization": f"Bearer {emulator.token()}"},
            )
            if response.status_code >= 400:
                raise CommandError(f"Gaby refused the demo activity ({response.status_code}): {response.content!r}")
            outcomes = _answer_queued(client)
            took = (time.monotonic() - started) * 1000
            command.stdout.write(f"\n{DEMO_USER.name} ({where}): {text}")
            command.stdout.write(f"  → {', '.join(outcomes) or 'no answer queued'} in {took:.0f} ms")
            for posted in sandbox.posted[seen:]:
                reply = sandbox.activity(posted["id"]) or posted  # as it reads after Gaby's edits
                command.stdout.write(f"  {reply.get('text', '')}")
                for block in _card_lines(reply)[1:]:
                    command.stdout.write(f"    {block}")
        command.stdout.write(
            f"\n{len(sandbox.posted)} posts and {len(sandbox.updates)} edits reached the Bot Connector stand-in; "
            f"the conversations are in {client.name}'s inbox with the Teams badge."
        )
