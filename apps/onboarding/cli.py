"""``gaby connect-m365-partner``: the MSP gives its Microsoft 365 partner connection once (its own tenant and its
multi-tenant app) and maps customer tenants to Gaby clients (apps/connectors/m365_partner.py; the portal page
/partners/microsoft365/ does the same).

``--list`` shows the partner's customer tenants with the client each is connected to already or the suggested one
(by verified domain, then name), and the connectors whose tenant the partner no longer lists; ``--map
TENANT_ID=SLUG ...`` creates one connector per client and says, per client, created / already connected / failed.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.connectors import m365_partner, m365_partner_store
from apps.core import cli_mapping
from apps.onboarding.client_domains import client_domains
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "connect-m365-partner",
        help="Connect Microsoft 365 customer tenants through the MSP's partner (GDAP) app: --list, then --map.",
    )
    parser.add_argument(
        "--config",
        required=True,
        help='The partner connection as JSON: \'{"tenant_id": "<the MSP\'s tenant>", "client_id": "…", '
        '"client_secret": "…"}\' (optional "authority", "graph_url", "ca_file" for the stand-in or a national '
        "cloud; leave client_secret out and use --client-secret-env to keep it off the command line).",
    )
    parser.add_argument("--client-secret-env", default="", metavar="NAME", help="Read the secret from this variable.")
    parser.add_argument(
        "--map", action="append", default=[], metavar="TENANT_ID=SLUG", help="A customer tenant id and a client."
    )
    parser.add_argument("--list", action="store_true", help="Only list the customer tenants, with suggestions.")
    parser.add_argument("--production", action="store_true", help="Mark the connectors as production systems.")
    parser.set_defaults(handler=connect_m365_partner)


def _tenant_id(text: str) -> str | None:
    return text.lower() if m365_partner.GUID.match(text) else None


def connect_m365_partner(command: BaseCommand, options: dict[str, Any]) -> None:
    given = cli_mapping.config_with_secret(options)
    try:
        partner = m365_partner.partner_from(given)
        if options["list"]:
            _list(command, partner)
            return
        mapping = cli_mapping.client_pairs(
            options["map"],
            vendor="Microsoft 365",
            noun="tenant",
            example=m365_partner.EXAMPLE,
            parse=_tenant_id,
        )
        outcomes = m365_partner.connect_clients(partner, mapping=mapping, is_production=options["production"])
    except m365_partner.PartnerError as exc:
        raise CommandError(str(exc)) from exc
    for item in outcomes:
        line = f"{item.customer.tenant_id} ({item.customer.name}) → {item.client.slug}: {item.status}"
        if item.status == "created" and item.connector is not None:
            line += f", connector {item.connector.name}, {item.tools} tools"
        elif item.reason:
            line += f" — {item.reason}"
        command.stdout.write(line)
    if any(item.status == "failed" for item in outcomes):
        raise CommandError("Some customer tenants were not connected; see the reasons above.")


def _list(command: BaseCommand, partner: m365_partner.Partner) -> None:
    """One line per customer tenant; then the vanished connectors and a --map hint for the suggestions."""
    clients = Client.objects.exclude(schema_name="public")
    found = m365_partner.listing(partner, client_domains=client_domains(clients))
    suggested: list[str] = []
    for row in found.rows:
        customer = row.customer
        if row.served_by is not None:
            status = f"connected to {row.served_by.client.slug} ({row.served_by.connector})"
        elif row.suggestion is not None:
            status = f"new, suggested: {row.suggestion.slug} (by {row.because})"
            suggested.append(f"--map {customer.tenant_id}={row.suggestion.slug}")
        else:
            status = "new, no matching client"
        if customer.problem:
            status += f"; the app cannot read this tenant yet: {customer.problem}"
        if customer.missing_roles:
            status += f"; GDAP lacks {', '.join(customer.missing_roles)}"
        command.stdout.write(f"{customer.tenant_id}\t{customer.name}\t{', '.join(customer.domains)}\t{status}")
    for gone in found.vanished:
        command.stdout.write(
            f"{gone.tenant_id}\tno longer listed by the partner\tconnector {gone.connector} of {gone.client.slug}"
        )
    since = m365_partner_store.remember(partner, [row.customer for row in found.rows], actor=None)
    if since.previous_at is not None:
        command.stdout.write(
            f"Since the last listing ({since.previous_at:%Y-%m-%d %H:%M}): "
            f"new {', '.join(since.appeared) or 'none'}; no longer listed {', '.join(since.gone) or 'none'}"
        )
    if suggested:
        command.stdout.write(
            f"To connect the suggestions: gaby connect-m365-partner --config '…' {' '.join(suggested)}"
        )
