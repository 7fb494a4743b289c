"""What the PSA connect commands share (``connect-halopsa``, ``connect-connectwise``): reading the arguments."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError

from apps.tickets import psa_mapping
from apps.tickets.sources.base import SourceError
from tenants.models import Client


def connection(text: str) -> dict[str, Any]:
    """``--config``: the PSA connection as a JSON object."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"--config is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise CommandError("--config must be a JSON object.")
    return parsed


def mapping(pairs: list[str], *, psa: str, noun: str, example: str) -> dict[int, Client]:
    """``--map ID=SLUG`` pairs: each PSA company id to one Gaby client, none twice."""
    found: dict[int, Client] = {}
    for pair in pairs:
        company_id, _, slug = pair.partition("=")
        if not company_id.strip().isdigit() or not slug.strip():
            raise CommandError(
                f"--map {pair!r}: write {psa.upper()}_{noun.upper()}_ID=GABY_CLIENT_SLUG, e.g. --map {example}."
            )
        if int(company_id) in found:
            raise CommandError(f"{psa} {noun} {company_id} is mapped twice: a {psa} {noun} feeds one Gaby client.")
        client = Client.objects.filter(slug=slug.strip()).first()
        if client is None:
            raise CommandError(f"--map {pair!r}: no Gaby client with slug {slug.strip()!r}.")
        found[int(company_id)] = client
    return found


def list_or_connect(
    command: BaseCommand, options: dict[str, Any], link: psa_mapping.PsaLink
) -> tuple[dict[str, Any], list[psa_mapping.Connected]]:
    """``--list`` prints the PSA's companies (and nothing is connected); otherwise the ``--map`` pairs are connected
    in one step. Returns the connection and what was connected."""
    given = connection(options["config"])
    try:
        if options["list"]:
            for company_id, name in sorted(link.companies(given).items()):
                command.stdout.write(f"{company_id}\t{name}")
            return given, []
        found = mapping(options["map"], psa=link.label, noun=link.noun, example=link.example)
        made = psa_mapping.connect_clients(
            link, connection=given, mapping=found, poll_interval_seconds=options["poll_interval"]
        )
    except (psa_mapping.MappingError, SourceError) as exc:
        raise CommandError(str(exc)) from exc
    return given, made
