"""What the PSA connect commands share (``connect-halopsa``, ``connect-connectwise``,
``connect-autotask``): listing or mapping in one step;
reading the arguments is apps/core/cli_mapping.py (``connect-ninjaone`` reads them too)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.core import cli_mapping
from apps.tickets import psa_mapping
from apps.tickets.sources.base import SourceError


def list_or_connect(
    command: BaseCommand, options: dict[str, Any], link: psa_mapping.PsaLink
) -> tuple[dict[str, Any], list[psa_mapping.Connected]]:
    """``--list`` prints the PSA's companies (and nothing is connected); otherwise the ``--map`` pairs are connected
    in one step. Returns the connection and what was connected."""
    given = cli_mapping.json_object(options["config"])
    try:
        if options["list"]:
            for company_id, name in sorted(link.companies(given).items()):
                command.stdout.write(f"{company_id}\t{name}")
            return given, []
        found = cli_mapping.client_pairs(options["map"], vendor=link.label, noun=link.noun, example=link.example)
        made = psa_mapping.connect_clients(
            link, connection=given, mapping=found, poll_interval_seconds=options["poll_interval"]
        )
    except (psa_mapping.MappingError, SourceError) as exc:
        raise CommandError(str(exc)) from exc
    return given, made
