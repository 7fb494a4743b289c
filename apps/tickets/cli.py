"""``gaby add-source``, ``gaby poll-source``, ``gaby listen-email``: ticket sources from the shell."""

from __future__ import annotations

import json
import secrets
import signal
import threading
from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.tickets import cli_autotask as autotask_command
from apps.tickets import cli_connectwise as connectwise_command
from apps.tickets import cli_halopsa as halopsa_command
from apps.tickets import polling, services
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.sources.email.listener import IdleListener
from apps.tickets.sources.registry import ADAPTERS
from tenants.addresses import client_domain
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    add = subparsers.add_parser("add-source", help="Connect a ticket source (email mailbox, generic webhook).")
    add.add_argument("--client", required=True, help="The client's slug.")
    add.add_argument("--kind", required=True, choices=sorted(ADAPTERS))
    add.add_argument("--name", required=True)
    add.add_argument("--poll-interval", type=int, default=60, help="Seconds between polls (email).")
    add.add_argument(
        "--config",
        default="{}",
        help='JSON configuration, sealed with the client\'s key, e.g. \'{"imap_host": "imap.example.com", ...}\'. '
        "A webhook source without a secret gets a generated one, printed once.",
    )
    add.set_defaults(handler=add_source)

    poll = subparsers.add_parser("poll-source", help="Poll one source now and print what it found.")
    poll.add_argument("--client", required=True)
    poll.add_argument("--name", required=True)
    poll.set_defaults(handler=poll_source)

    listen = subparsers.add_parser(
        "listen-email",
        help="Run the IMAP IDLE listener: new mail in any client's mailbox is pulled at once (polling stays on).",
    )
    listen.add_argument("--rescan", type=float, default=60.0, help="Seconds between looks for new or changed sources.")
    listen.set_defaults(handler=listen_email)

    halopsa_command.register(subparsers, command)
    connectwise_command.register(subparsers, command)
    autotask_command.register(subparsers, command)


def _client(slug: str) -> Client:
    client = Client.objects.filter(slug=slug).first()
    if client is None:
        raise CommandError(f"No client with slug {slug!r}.")
    return client


def add_source(command: BaseCommand, options: dict[str, Any]) -> None:
    client = _client(options["client"])
    try:
        config = json.loads(options["config"])
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(config, dict):
        raise CommandError("--config must be a JSON object.")
    generated = ""
    if options["kind"] == SourceKind.WEBHOOK and not config.get("secret"):
        generated = config["secret"] = secrets.token_urlsafe(32)
    with tenant_context(client):
        source = services.create_source(
            client=client,
            kind=options["kind"],
            name=options["name"],
            config=config,
            poll_interval_seconds=options["poll_interval"],
        )
    command.stdout.write(f"Added {source.get_kind_display()} source {source.name!r} to {client.name} ({source.pk}).")
    if options["kind"] == SourceKind.WEBHOOK:
        command.stdout.write(f"  POST http://{client_domain(client.slug)}/api/v1/sources/{source.pk}/webhook")
        if generated:
            command.stdout.write(f"  Signing secret (shown once): {generated}")


def poll_source(command: BaseCommand, options: dict[str, Any]) -> None:
    client = _client(options["client"])
    with tenant_context(client):
        source = TicketSource.objects.filter(name=options["name"]).first()
        if source is None:
            raise CommandError(f"{client.name} has no source named {options['name']!r}.")
        TicketSource.objects.filter(pk=source.pk).update(next_poll_at=None)
        result = polling.poll(source.pk)
    if result.status != "ok":
        raise CommandError(f"Poll {result.status}: {result.error}")
    command.stdout.write(result.summary())


def listen_email(command: BaseCommand, options: dict[str, Any]) -> None:
    """Until interrupted: one IDLE connection per enabled email source of every client."""

    stop = threading.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        signal.signal(signum, lambda *_: stop.set())
    command.stdout.write("Listening for new mail with IMAP IDLE (Ctrl-C to stop).")
    IdleListener(rescan_seconds=options["rescan"]).run(stop)
