"""``gaby connect-ninjaone``: the MSP gives its NinjaOne API client app once and maps organizations to Gaby clients.

``--list`` shows NinjaOne's organizations with the Gaby client each already serves or best matches (by name,
slug or domain); ``--map ORG_ID=SLUG ...`` creates one connector per client (apps/connectors/ninjaone_mapping.py).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.connectors import ninjaone_mapping
from apps.core import cli_mapping


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-ninjaone",
        help="Connect one NinjaOne API client app to several clients: each --map ORG_ID=SLUG gets a connector.",
    )
    parser.add_argument(
        "--config",
        required=True,
        help='The API client app as JSON: \'{"url": "https://app.ninjarmm.com", "client_id": "…", '
        '"client_secret": "…"}\' (leave client_secret out and use --client-secret-env to keep it off the command '
        "line).",
    )
    parser.add_argument("--client-secret-env", default="", metavar="NAME", help="Read the secret from this variable.")
    parser.add_argument(
        "--map", action="append", default=[], metavar="ORG_ID=SLUG", help="A NinjaOne organization id and a client."
    )
    parser.add_argument("--list", action="store_true", help="Only list NinjaOne's organizations, with suggestions.")
    parser.add_argument(
        "--allow-script", action="append", default=[], help="A library script (id or name) run without approval."
    )
    parser.add_argument("--name", default="NinjaOne", help="Each connector's name. Default: NinjaOne.")
    parser.add_argument("--production", action="store_true", help="Mark them as production systems.")
    parser.set_defaults(handler=connect_ninjaone)


def connect_ninjaone(command: BaseCommand, options: dict[str, Any]) -> None:
    given = cli_mapping.config_with_secret(options)
    try:
        if options["list"]:
            _list(command, given)
            return
        mapping = cli_mapping.client_pairs(
            options["map"], vendor="NinjaOne", noun="organization", example=ninjaone_mapping.EXAMPLE
        )
        connected = ninjaone_mapping.connect_clients(
            given,
            mapping=mapping,
            name=options["name"],
            allowed_scripts=options["allow_script"],
            is_production=options["production"],
        )
    except ninjaone_mapping.MappingError as exc:
        raise CommandError(str(exc)) from exc
    for item in connected:
        orgs = ", ".join(f"{org} ({name})" for org, name in sorted(item.organizations.items()))
        command.stdout.write(
            f"NinjaOne organization {orgs} → {item.client.name}: connector {item.connector.name}, {item.tools} tools"
        )


def _list(command: BaseCommand, given: dict[str, Any]) -> None:
    """One line per organization: id, name, then the client it serves or the suggested one; then a --map hint."""
    suggested: list[str] = []
    for org in ninjaone_mapping.listing(given):
        if org.mapped_to is not None:
            status = f"already serves {org.mapped_to.slug}"
        elif org.suggestion is not None:
            status = f"suggested: {org.suggestion.slug} ({org.suggestion.name})"
            suggested.append(f"--map {org.id}={org.suggestion.slug}")
        else:
            status = "no matching client"
        command.stdout.write(f"{org.id}\t{org.name}\t{status}")
    if suggested:
        command.stdout.write(f"To connect the suggestions: gaby connect-ninjaone --config '…' {' '.join(suggested)}")
