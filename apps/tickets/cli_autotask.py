"""``gaby connect-autotask``: the MSP connects its Autotask once and maps Autotask companies to Gaby clients."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from apps.tickets import cli_psa
from apps.tickets.autotask_mapping import LINK


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-autotask",
        help="Connect one Autotask API user to several clients: each --map COMPANY_ID=SLUG gets a source.",
    )
    parser.add_argument(
        "--config",
        required=True,
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
    parser.add_argument("--poll-interval", type=int, default=120, help="Seconds between polls of each source.")
    parser.set_defaults(handler=connect_autotask)


def connect_autotask(command: BaseCommand, options: dict[str, Any]) -> None:
    _, connected = cli_psa.list_or_connect(command, options, LINK)
    for item in connected:
        command.stdout.write(f"Autotask company {item.company_id} ({item.company_name}) → {item.client.name}")
    if connected:
        command.stdout.write(
            f"Each source polls every {options['poll_interval']} s by last activity; set the billing rule's work type "
            "(billing code id) to write time."
        )
