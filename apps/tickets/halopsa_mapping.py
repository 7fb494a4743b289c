"""One HaloPSA connection, set up once by the MSP, feeding many Gaby clients: Halo client (company) → Gaby client.

Tickets, their sources and their sealed secrets live in each Gaby client's own schema (strict isolation, one
data key per client), so the mapping is made of ordinary per-client sources: for each mapped Halo client,
``connect_clients`` creates a HaloPSA source in the chosen Gaby client's schema holding the same API
application and that ``halo_client_id``, which filters every pull and refuses other companies' tickets on
webhooks. All of them share one bearer token (apps/tickets/sources/halopsa/auth.py). Nothing is created
unless every Halo client id exists in Halo and no Halo client is mapped twice: one step, all or nothing
(each client schema commits separately, so creation stops at the first failure and reports what exists).
"""

from __future__ import annotations

import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django_tenants.utils import tenant_context

from apps.tickets import services
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.sources.halopsa.adapter import HaloPSAAdapter
from tenants.models import Client

CONNECTION_KEYS = ("base_url", "auth_url", "tenant", "client_id", "client_secret")


class MappingError(ValueError):
    """The mapping cannot be applied as given; the message says what to change."""


@dataclass(frozen=True)
class Connected:
    client: Client
    source: TicketSource
    halo_client_id: int
    halo_client_name: str
    webhook_secret: str  # shown once to the MSP, who sets it on the client's Halo webhook


def halo_clients(connection: Mapping[str, Any]) -> dict[int, str]:
    """Every Halo client (company) the API application sees, id → name: what can be mapped."""
    return HaloPSAAdapter(source_id="mapping", config={**connection, "halo_client_id": "0"}).companies()


def _already_mapped(client: Client, connection: Mapping[str, Any]) -> set[int]:
    """Halo client ids this Gaby client already receives from the same Halo."""
    mapped: set[int] = set()
    with tenant_context(client):
        for source in TicketSource.objects.filter(kind=SourceKind.HALOPSA):
            config = services.source_config(client=client, source=source)
            if str(config.get("base_url", "")).rstrip("/") == str(connection["base_url"]).rstrip("/"):
                mapped.add(int(config.get("halo_client_id") or 0))
    return mapped


def connect_clients(
    *,
    connection: Mapping[str, Any],
    mapping: Mapping[int, Client],
    poll_interval_seconds: int = 120,
    actor: Any = None,
) -> list[Connected]:
    """Create one HaloPSA source per mapped Halo client in its Gaby client's schema, after checking them all."""
    missing = [key for key in ("base_url", "client_id", "client_secret") if not str(connection.get(key) or "")]
    if missing:
        raise MappingError(f"The Halo connection needs {', '.join(missing)}.")
    if not mapping:
        raise MappingError("Map at least one Halo client to a Gaby client, e.g. --map 12=hartwell.")
    known = halo_clients(connection)  # also proves the credentials work before anything is created
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        listed = ", ".join(f"{i} {n}" for i, n in sorted(known.items())) or "none"
        raise MappingError(f"Halo has no client with id {unknown}; Halo's clients are: {listed}.")
    for halo_id, client in mapping.items():
        if halo_id in _already_mapped(client, connection):
            raise MappingError(f"{client.name} already receives Halo client {halo_id} ({known[halo_id]}).")
    base = {key: str(connection.get(key) or "") for key in CONNECTION_KEYS}
    connected: list[Connected] = []
    for halo_id, client in sorted(mapping.items()):
        secret = secrets.token_urlsafe(32)
        config = {**base, "halo_client_id": str(halo_id), "webhook_secret": secret}
        with tenant_context(client):
            source = services.create_source(
                client=client,
                kind=SourceKind.HALOPSA,
                name=f"HaloPSA · {known[halo_id]}"[:200],
                config=config,
                poll_interval_seconds=poll_interval_seconds,
                actor=actor,
            )
        connected.append(Connected(client, source, halo_id, known[halo_id], secret))
    return connected
