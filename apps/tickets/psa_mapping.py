"""One PSA connection, set up once by the MSP, feeding many Gaby clients: PSA company → Gaby client.

Shared by HaloPSA (apps/tickets/halopsa_mapping.py), ConnectWise (apps/tickets/connectwise_mapping.py) and Autotask
(apps/tickets/autotask_mapping.py).
Tickets, their sources and their sealed secrets live in each Gaby client's own schema (strict isolation, one
data key per client), so the mapping is made of ordinary per-client sources: for each mapped PSA company,
``connect_clients`` creates a source of the PSA's kind in the chosen Gaby client's schema holding the same
connection and that company's id (``PsaLink.company_key``), which filters every pull and refuses other
companies' tickets on webhooks and callbacks. Nothing is created unless every company id exists in the PSA and
no company is mapped twice: one step, all or nothing (each client schema commits separately, so creation stops
at the first failure and reports what exists).
"""

from __future__ import annotations

import secrets
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from django_tenants.utils import tenant_context

from apps.tickets import services
from apps.tickets.models import TicketSource
from tenants.models import Client


class MappingError(ValueError):
    """The mapping cannot be applied as given; the message says what to change."""


@dataclass(frozen=True)
class PsaLink:
    """How one PSA is mapped: its source kind, the config key naming the company, what a connection holds."""

    kind: str
    label: str  # "Halo", "ConnectWise": how messages name the PSA
    company_key: str  # the source config key holding the PSA company's id
    connection_keys: tuple[str, ...]  # what is copied from the connection into every source
    required_keys: tuple[str, ...]  # what a connection must give
    instance_key: str  # the connection key that says which PSA instance it is (its URL)
    companies: Callable[[Mapping[str, Any]], dict[int, str]]  # the PSA's companies, id → name (proves credentials)
    example: str  # an example --map, e.g. "12=hartwell"
    hook_key: str  # the source config key of the secret a webhook or callback proves itself with; "" when it polls only
    noun: str = "client"  # what the PSA calls a customer company: Halo "client", ConnectWise "company"


@dataclass(frozen=True)
class Connected:
    client: Client
    source: TicketSource
    company_id: int
    company_name: str
    secret: str  # the webhook / callback secret, shown once to the MSP ("" for a PSA that is only polled)


def _already_mapped(link: PsaLink, client: Client, connection: Mapping[str, Any]) -> set[int]:
    """Company ids this Gaby client already receives from the same PSA instance."""
    mapped: set[int] = set()
    instance = str(connection[link.instance_key]).rstrip("/")
    with tenant_context(client):
        for source in TicketSource.objects.filter(kind=link.kind):
            config = services.source_config(client=client, source=source)
            if str(config.get(link.instance_key, "")).rstrip("/") == instance:
                mapped.add(int(config.get(link.company_key) or 0))
    return mapped


def connect_clients(
    link: PsaLink,
    *,
    connection: Mapping[str, Any],
    mapping: Mapping[int, Client],
    poll_interval_seconds: int = 120,
    actor: Any = None,
) -> list[Connected]:
    """Create one source per mapped PSA company in its Gaby client's schema, after checking them all."""
    missing = [key for key in link.required_keys if not str(connection.get(key) or "")]
    if missing:
        raise MappingError(f"The {link.label} connection needs {', '.join(missing)}.")
    if not mapping:
        raise MappingError(f"Map at least one {link.label} {link.noun} to a Gaby client, e.g. --map {link.example}.")
    known = link.companies(connection)  # also proves the credentials work before anything is created
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        listed = ", ".join(f"{i} {n}" for i, n in sorted(known.items())) or "none"
        raise MappingError(
            f"{link.label} has no {link.noun} with id {unknown}; {link.label}'s {link.noun}s are: {listed}."
        )
    for company_id, client in mapping.items():
        if company_id in _already_mapped(link, client, connection):
            raise MappingError(
                f"{client.name} already receives {link.label} {link.noun} {company_id} ({known[company_id]})."
            )
    base = {key: str(connection.get(key) or "") for key in link.connection_keys}
    connected: list[Connected] = []
    for company_id, client in sorted(mapping.items()):
        secret = secrets.token_urlsafe(32) if link.hook_key else ""
        config = {**base, link.company_key: str(company_id)} | ({link.hook_key: secret} if link.hook_key else {})
        with tenant_context(client):
            source = services.create_source(
                client=client,
                kind=link.kind,
                name=f"{link.label} · {known[company_id]}"[:200],
                config=config,
                poll_interval_seconds=poll_interval_seconds,
                actor=actor,
            )
        connected.append(Connected(client, source, company_id, known[company_id], secret))
    return connected
