"""What the one-step mapping commands share (``connect-halopsa``, ``connect-connectwise``, ``connect-ninjaone``,
``connect-m365-partner``): a vendor connection given as a JSON object, and ``--map VENDOR_ID=CLIENT_SLUG`` pairs
read into Gaby clients (vendor ids are numbers, or what ``parse`` accepts: a Microsoft tenant id is a GUID)."""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from typing import Any, TypeVar, overload

from django.core.management.base import CommandError

from tenants.models import Client

K = TypeVar("K")


def client_by_slug(slug: str) -> Client:
    """The Gaby client a command names with ``--client``; a clear error when there is none."""
    client = Client.objects.filter(slug=slug).exclude(schema_name="public").first()
    if client is None:
        raise CommandError(f"No client with slug {slug!r}; `manage.py gaby create-client` makes one.")
    return client


def numeric_id(text: str) -> int | None:
    return int(text) if text.strip().isdigit() else None


def json_object(text: str, *, flag: str = "--config") -> dict[str, Any]:
    """``--config``: the vendor connection as a JSON object."""
    try:
        parsed = json.loads(text)
    except json.JSONDecodeError as exc:
        raise CommandError(f"{flag} is not valid JSON: {exc}") from exc
    if not isinstance(parsed, dict):
        raise CommandError(f"{flag} must be a JSON object.")
    return parsed


def config_with_secret(options: dict[str, Any]) -> dict[str, Any]:
    """``--config`` as a JSON object, its ``client_secret`` read from ``--client-secret-env`` when that is given
    (the secret stays off the command line: shell history, ``ps``)."""
    given = json_object(options["config"])
    variable = options.get("client_secret_env") or ""
    if variable:
        if not os.environ.get(variable):
            raise CommandError(f"--client-secret-env {variable}: that environment variable is empty or not set.")
        given["client_secret"] = os.environ[variable]
    return given


@overload
def client_pairs(pairs: list[str], *, vendor: str, noun: str, example: str) -> dict[int, Client]: ...


@overload
def client_pairs(
    pairs: list[str], *, vendor: str, noun: str, example: str, parse: Callable[[str], K | None]
) -> dict[K, Client]: ...


def client_pairs(
    pairs: list[str], *, vendor: str, noun: str, example: str, parse: Callable[[str], Any] = numeric_id
) -> dict[Any, Client]:
    """``--map ID=SLUG`` pairs: each vendor id (a PSA company, an RMM organization, a customer tenant) to one Gaby
    client, none twice. ``parse`` reads a vendor id, None when it is not one."""
    found: dict[Any, Client] = {}
    for pair in pairs:
        raw_id, _, slug = pair.partition("=")
        vendor_id = parse(raw_id.strip())
        if vendor_id is None or not slug.strip():
            label = f"{vendor.upper()}_{noun.upper()}_ID".replace(" ", "_")
            raise CommandError(f"--map {pair!r}: write {label}=GABY_CLIENT_SLUG, e.g. --map {example}.")
        if vendor_id in found:
            raise CommandError(f"{vendor} {noun} {vendor_id} is mapped twice: a {vendor} {noun} feeds one Gaby client.")
        client = Client.objects.filter(slug=slug.strip()).exclude(schema_name="public").first()
        if client is None:
            raise CommandError(f"--map {pair!r}: no Gaby client with slug {slug.strip()!r}.")
        found[vendor_id] = client
    return found
