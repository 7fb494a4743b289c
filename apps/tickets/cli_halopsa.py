"""``gaby connect-halopsa``: the MSP connects its Halo once and maps Halo clients (companies) to Gaby clients."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.tickets import cli_psa
from apps.tickets.halopsa_mapping import LINK
from tenants.addresses import client_domain


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


def connect_halopsa(command: BaseCommand, options: dict[str, Any]) -> None:
    _, connected = cli_psa.list_or_connect(command, options, LINK)
    for item in connected:
        url = f"https://{client_domain(item.client.slug)}/api/v1/sources/{item.source.pk}/webhook/halopsa"
        command.stdout.write(f"Halo client {item.company_id} ({item.company_name}) → {item.client.name}")
        command.stdout.write(f"  webhook URL: {url}")
        command.stdout.write(f"  webhook Basic auth password (shown once): {item.secret}")
