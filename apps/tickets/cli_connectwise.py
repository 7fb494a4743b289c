"""``gaby connect-connectwise``: the MSP connects its ConnectWise PSA once and maps Manage companies to clients."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.tickets import cli_psa
from apps.tickets.connectwise_mapping import LINK, callback_url, register_callbacks
from apps.tickets.sources.base import SourceError


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-connectwise",
        help="Connect one ConnectWise PSA API member to several clients: each --map COMPANY_ID=SLUG gets a source.",
    )
    parser.add_argument(
        "--config",
        required=True,
        help='The API member as JSON: \'{"site_url": "https://api-na.myconnectwise.net", "company_id": '
        '"northwind", "public_key": "…", "private_key": "…", "client_id": "<your clientId GUID>"}\'.',
    )
    parser.add_argument(
        "--map",
        action="append",
        default=[],
        metavar="COMPANY_ID=SLUG",
        help="A Manage company record id and a Gaby client slug.",
    )
    parser.add_argument("--list", action="store_true", help="Only list the Manage companies the member sees.")
    parser.add_argument(
        "--register-callbacks",
        action="store_true",
        help="Also register each source's callback URL at ConnectWise (type Ticket, level Company).",
    )
    parser.add_argument("--poll-interval", type=int, default=120, help="Seconds between polls of each source.")
    parser.set_defaults(handler=connect_connectwise)


def connect_connectwise(command: BaseCommand, options: dict[str, Any]) -> None:
    connection, connected = cli_psa.list_or_connect(command, options, LINK)
    for item in connected:
        command.stdout.write(f"ConnectWise company {item.company_id} ({item.company_name}) → {item.client.name}")
        command.stdout.write(
            f"  callback URL (holds its secret, shown once): {callback_url(item.client, item.source, item.secret)}"
        )
    if connected and options["register_callbacks"]:
        try:
            ids = register_callbacks(connection, connected)
        except SourceError as exc:
            raise CommandError(
                f"The sources exist but registering the callbacks failed ({exc}); register the URLs above in "
                "ConnectWise (System → Callbacks) or run polling only."
            ) from exc
        command.stdout.write(f"Registered {len(ids)} callback(s) at ConnectWise: ids {', '.join(map(str, ids))}.")
