"""What the one-step mapping commands share (``connect-halopsa``, ``connect-connectwise``, ``connect-ninjaone``):
a vendor connection given as a JSON object, and ``--map VENDOR_ID=CLIENT_SLUG`` pairs read into Gaby clients."""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import CommandError

from tenants.models import Client


def json_object(text: str, *, flag: str = "--config") -> dict[str, Any]:
    """``--config``: the vendor connection as a JSON object."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{flag} is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise CommandError(f"{flag} must be a JSON object.")
    return parsed


def client_pairs(pairs: list[str], *, vendor: str, noun: str, example: str) -> dict[int, Client]:
    """``--map ID=SLUG`` pairs: each vendor id (a PSA company, an RMM organization) to one Gaby client, none twice."""
    found: dict[int, Client] = {}
    for pair in pairs:
        vendor_id, _, slug = pair.partition("=")
        if not vendor_id.strip().isdigit() or not slug.strip():
            raise CommandError(
                f"--map {pair!r}: write {vendor.upper()}_{noun.upper()}_ID=GABY_CLIENT_SLUG, e.g. --map {example}."
            )
        if int(vendor_id) in found:
            raise CommandError(
                f"{vendor} {noun} {int(vendor_id)} is mapped twice: a {vendor} {noun} feeds one Gaby client."
            )
        client = Client.objects.filter(slug=slug.strip()).exclude(schema_name="public").first()
        if client is None:
            raise CommandError(f"--map {pair!r}: no Gaby client with slug {slug.strip()!r}.")
        found[int(vendor_id)] = client
    return found
