"""``gaby usage-rollup``: show or rebuild the monthly usage rollup (apps/llm/rollup.py) from the call records.

The rollup is kept as calls are recorded; rebuilding is for after a database restore that brought back calls
without their rows, or rows without their calls.
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError
from django_tenants.utils import get_public_schema_name

from apps.billing import costs
from apps.core.months import months_back, this_month
from apps.llm import rollup
from tenants.models import Client


def register(subparsers: Any, command: BaseCommand) -> None:
    parser = subparsers.add_parser("usage-rollup", help="Show, or rebuild from the call records, each client's months.")
    parser.add_argument("--months", type=int, default=12, help="How many months back from this one (1-120).")
    parser.add_argument("--client", metavar="SLUG", help="Only this client.")
    parser.add_argument("--rebuild", action="store_true", help="Recompute the months from the call records first.")
    parser.set_defaults(handler=usage_rollup)


def usage_rollup(command: BaseCommand, options: dict[str, Any]) -> None:
    if not 1 <= options["months"] <= 120:
        raise CommandError(f"--months is 1 to 120, not {options['months']}.")
    clients = Client.objects.exclude(schema_name=get_public_schema_name()).order_by("name")
    if options.get("client"):
        clients = clients.filter(slug=options["client"])
        if not clients.exists():
            raise CommandError(f"--client {options['client']!r}: no Gaby client with this slug.")
    chosen = list(clients)
    shown = months_back(this_month(), options["months"])
    if options["rebuild"]:
        written = rollup.rebuild(chosen, shown[0], shown[-1])
        command.stdout.write(f"Rebuilt {written} month row(s) for {len(chosen)} client(s) from their call records.")
    found = rollup.usage_by_client([c.pk for c in chosen], shown[0], shown[-1])
    for client in chosen:
        for month in shown:
            totals = costs.totals_of(found.get((client.pk, month), rollup.NOTHING))
            if totals.calls:
                command.stdout.write(
                    f"{client.slug}\t{month:%Y-%m}\t{totals.calls} calls\t{totals.tokens:.0f} tokens\t"
                    f"${totals.cost_usd:.6f}"
                )
