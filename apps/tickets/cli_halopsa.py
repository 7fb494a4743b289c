"""``gaby connect-halopsa``: the MSP connects its Halo once and maps Halo clients (companies) to Gaby clients."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.tickets.halopsa_mapping import MappingError, connect_clients, halo_clients
from apps.tickets.sources.base import SourceError
from tenants.addresses import client_domain
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-halopsa",
        help="Connect one HaloPSA API application to several clients: each --map HALO_ID=SLUG gets a source.",
    )
    parser.add_argument(
        "--config",
        required=True,
        help='The Halo API application as JSON: \'{"base_url": "https://northwind.halopsa.com", '
        '"client_id": "…", "client_secret": "…", "tenant": "northwind"}\' (tenant: hosted Halo only).',
    )
    parser.add_argument(
        "--map", action="append", default=[], metavar="HALO_ID=SLUG", help="A Halo client id and a Gaby client slug."
    )
    parser.add_argument("--list", action="store_true", help="Only list the Halo clients the application sees.")
    parser.add_argument("--poll-interval", type=int, default=120, help="Seconds between polls of each source.")
    parser.set_defaults(handler=connect_halopsa)


def _mapping(pairs: list[str]) -> dict[int, Client]:
    mapping: dict[int, Client] = {}
    for pair in pairs:
        halo_id, _, slug = pair.partition("=")
        if not halo_id.strip().isdigit() or not slug.strip():
            raise CommandError(f"--map {pair!r}: write HALO_CLIENT_ID=GABY_CLIENT_SLUG, e.g. --map 12=hartwell.")
        if int(halo_id) in mapping:
            raise CommandError(f"Halo client {halo_id} is mapped twice: a Halo client feeds one Gaby client.")
        client = Client.objects.filter(slug=slug.strip()).first()
        if client is None:
            raise CommandError(f"--map {pair!r}: no Gaby client with slug {slug.strip()!r}.")
        mapping[int(halo_id)] = client
    return mapping


def connect_halopsa(command: BaseCommand, options: dict[str, Any]) -> None:
    try:
        connection = json.loads(options["config"])
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(connection, dict):
        raise CommandError("--config must be a JSON object.")
    try:
        if options["list"]:
            for halo_id, name in sorted(halo_clients(connection).items()):
                command.stdout.write(f"{halo_id}\t{name}")
            return
        connected = connect_clients(
            connection=connection, mapping=_mapping(options["map"]), poll_interval_seconds=options["poll_interval"]
        )
    except (MappingError, SourceError) as exc:
        raise CommandError(str(exc)) from exc
    for item in connected:
        url = f"https://{client_domain(item.client.slug)}/api/v1/sources/{item.source.pk}/webhook/halopsa"
        command.stdout.write(f"Halo client {item.halo_client_id} ({item.halo_client_name}) → {item.client.name}")
        command.stdout.write(f"  webhook URL: {url}")
        command.stdout.write(f"  webhook Basic auth password (shown once): {item.webhook_secret}")
