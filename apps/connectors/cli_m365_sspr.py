"""``gaby m365-self-service-reset``: declare (or withdraw) that self-service password reset is on for every user of a
client's Microsoft 365 tenant, on a connector that already exists — one made by the partner (GDAP) flow included.

Only for tenants without Entra ID P1, where Graph can read neither the policy nor the registration report
(apps/connectors/servers/microsoft365/server_self_service.py). The connector is tested with the new setting before
it is stored, and the change is in its consent log.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import tenant_context

from apps.connectors import services
from apps.connectors.calls import ConnectorError
from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector, Kind
from apps.core.cli_mapping import client_by_slug


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser(
        "m365-self-service-reset",
        help="Declare that self-service password reset is on for every user of a client's Microsoft 365 tenant.",
    )
    parser.add_argument("--client", required=True, help="The client's slug.")
    parser.add_argument(
        "--methods",
        type=int,
        choices=(0, 1, 2),
        required=True,
        help="The methods a reset asks for (1 or 2); 0 withdraws the declaration (ask Entra ID's report again).",
    )
    parser.add_argument("--name", default="", help="The connector's name, if the client has several Microsoft 365.")
    parser.set_defaults(handler=declare)


def declare(command: BaseCommand, options: dict[str, Any]) -> None:
    client = client_by_slug(options["client"])
    with tenant_context(client):
        found = Connector.objects.filter(kind=Kind.MICROSOFT365)
        if options["name"]:
            found = found.filter(name=options["name"])
        connectors = list(found)
        if len(connectors) != 1:
            names = ", ".join(c.name for c in Connector.objects.filter(kind=Kind.MICROSOFT365)) or "none"
            raise CommandError(
                f"{client.name} has {len(connectors)} matching Microsoft 365 connectors ({names}): "
                + ("name one with --name." if connectors else "connect one first.")
            )
        connector = connectors[0]
        draft = draft_of(connector, client)
        draft = replace(draft, settings={**draft.settings, "sspr_methods": options["methods"]})
        try:
            services.reconfigure(client=client, connector=connector, draft=draft, actor=None, operator=True)
        except ValidationError as exc:
            raise CommandError(f"{connector.name} did not accept the setting: {'; '.join(exc.messages)}") from exc
        except ConnectorError as exc:
            raise CommandError(f"The connection test failed, nothing was changed: {exc}") from exc
    said = (
        f"on for every user, {options['methods']} method(s) to reset"
        if options["methods"]
        else "not declared (Entra ID's registration report decides)"
    )
    command.stdout.write(f"{client.name} · {connector.name}: self-service password reset {said}.")
