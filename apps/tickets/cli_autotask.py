"""``gaby connect-autotask``: the MSP connects its Autotask once and maps Autotask companies to Gaby clients."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.tickets import cli_psa
from apps.tickets.autotask_mapping import LINK, register_webhooks, unregister_webhooks, webhook_urls
from apps.tickets.sources.base import SourceError
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-autotask",
        help="Connect one Autotask API user to several clients: each --map COMPANY_ID=SLUG gets a source.",
    )
    parser.add_argument(
        "--config",
        help='The API user as JSON: \'{"username": "gaby@yourmsp.example", "secret": "…", "integration_code": '
        '"<API tracking identifier>"}\' (the zone is found from the username).',
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COMPANY_ID=SLUG",
        help="An Autotask company id and a Gaby client slug.",
    )
    parser.add_argument("--list", action="store_true", help="Only list the Autotask companies the API user sees.")
    parser.add_argument(
        "--register-webhooks",
        action="store_true",
        help="Also create each new source's ticket webhook at Autotask (TicketWebhooks), so changes arrive at once.",
    )
    parser.add_argument(
        "--unregister-webhooks",
        metavar="SLUG",
        help="Delete the ticket webhooks of this client's Autotask sources at Autotask (polling goes on); "
        "nothing is mapped.",
    )
    parser.add_argument("--poll-interval", type=int, default=120, help="Seconds between polls of each source.")
    parser.set_defaults(handler=connect_autotask)


def connect_autotask(command: BaseCommand, options: dict[str, Any]) -> None:
    if options.get("unregister_webhooks"):
        slug = options["unregister_webhooks"]
        client = Client.objects.filter(slug=slug).exclude(schema_name="public").first()
        if client is None:
            raise CommandError(f"--unregister-webhooks {slug!r}: no Gaby client with this slug.")
        try:
            removed = unregister_webhooks(client)
        except SourceError as exc:
            raise CommandError(f"Autotask refused to delete the webhook ({exc}); delete it in Autotask.") from exc
        command.stdout.write(f"Deleted {len(removed)} webhook(s) of {client.name} at Autotask; its sources poll on.")
        return
    if not options.get("config"):
        raise CommandError("--config is required: the API user as JSON (see --help).")
    _, connected = cli_psa.list_or_connect(command, options, LINK)
    for item in connected:
        command.stdout.write(f"Autotask company {item.company_id} ({item.company_name}) → {item.client.name}")
        command.stdout.write(f"  webhook URL: {webhook_urls(item.client, item.source, item.secret)[0]}")
    if connected and options["register_webhooks"]:
        try:
            ids = register_webhooks(connected)
        except SourceError as exc:
            raise CommandError(
                f"The sources exist but creating the webhooks failed ({exc}); they poll, and "
                "--register-webhooks can be run again for new mappings."
            ) from exc
        command.stdout.write(f"Created {len(ids)} ticket webhook(s) at Autotask: ids {', '.join(map(str, ids))}.")
    if connected:
        command.stdout.write(
            f"Each source polls every {options['poll_interval']} s by last activity; set the billing rule's work type "
            "(billing code id) to write time."
        )
