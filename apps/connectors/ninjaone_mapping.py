"""One NinjaOne API client app, set up once by the MSP, serving many Gaby clients: organization → Gaby client.

A NinjaOne connector belongs to one Gaby client and sees only the organizations its settings name (its sealed
secret lives in that client's schema, under that client's data key). So mapping is made of ordinary connectors:
for each Gaby client, ``connect_clients`` makes one NinjaOne connector limited to the organization(s) mapped to
it, through ``services.connect`` like any other (the connection is tested, its tools listed and stored, the
consent event recorded). Nothing is created unless the credentials work, every organization id exists, no
organization already serves another Gaby client and no mapped client has a NinjaOne connector yet; each client
schema commits separately, so a failure after that stops at once and says which connectors exist.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context

from apps.connectors import client_mapping, services
from apps.connectors.calls import ConnectorError
from apps.connectors.models import Connector, Kind
from apps.connectors.servers.ninjaone.client import NinjaOne, Settings
from apps.connectors.servers.rest import VendorError
from apps.connectors.specs import ninjaone_draft
from apps.core.outbound import OutboundRefused
from tenants.models import Client

REQUIRED = ("url", "client_id", "client_secret")
EXAMPLE = "1=hartwell"


class MappingError(ValueError):
    """The mapping cannot be applied as given; the message says what to change."""


@dataclass(frozen=True)
class Organization:
    id: int
    name: str
    suggestion: Client | None  # the Gaby client whose name, slug or domain best matches
    mapped_to: Client | None  # the Gaby client whose NinjaOne connector serves it already


@dataclass(frozen=True)
class Connected:
    client: Client
    connector: Connector
    organizations: dict[int, str]  # id → name
    tools: int


def _connection(given: Mapping[str, Any]) -> dict[str, str]:
    missing = [key for key in REQUIRED if not str(given.get(key) or "").strip()]
    if missing:
        raise MappingError(
            f"The NinjaOne connection needs {', '.join(missing)}: "
            '--config \'{"url": "https://app.ninjarmm.com", "client_id": "…", "client_secret": "…"}\' '
            "(or the secret from the environment with --client-secret-env)."
        )
    return {key: str(given[key]).strip() for key in REQUIRED} | {"url": str(given["url"]).strip().rstrip("/")}


def organizations(given: Mapping[str, Any]) -> dict[int, str]:
    """NinjaOne's organizations the API client app sees, id → name; proves the credentials and the URL work."""
    conn = _connection(given)
    settings = Settings(
        base_url=conn["url"], client_id=conn["client_id"], client_secret=conn["client_secret"], organizations=()
    )
    ninja = NinjaOne(settings)
    try:
        found = ninja.paged("/organizations", {}, limit=10_000)
    except (VendorError, OutboundRefused) as exc:
        raise MappingError(f"Could not list NinjaOne's organizations: {exc}") from exc
    finally:
        ninja.rest.close()
    return {int(org["id"]): str(org.get("name") or "") for org in found if isinstance(org, dict) and "id" in org}


def existing(url: str) -> tuple[dict[int, Client], set[Any]]:
    """Which organizations of this NinjaOne instance already serve a Gaby client, and which clients have a
    NinjaOne connector at all (any instance; a paused client still holds its organizations)."""
    served: dict[int, Client] = {}
    with_connector: set[Any] = set()
    for client, _, settings in client_mapping.connectors_of(Kind.NINJAONE):
        with_connector.add(client.pk)
        if str(settings.get("url", "")).rstrip("/") == url.rstrip("/"):
            served.update(dict.fromkeys((int(org) for org in settings.get("organizations", [])), client))
    return served, with_connector


def listing(given: Mapping[str, Any]) -> list[Organization]:
    """NinjaOne's organizations, each with the Gaby client it serves already or the one that best matches."""
    known = organizations(given)
    clients = client_mapping.clients()
    domains = client_mapping.routing_domains(clients)
    served, _ = existing(str(given["url"]))
    return [
        Organization(org_id, name, client_mapping.suggest_by_name(name, clients, domains), served.get(org_id))
        for org_id, name in sorted(known.items())
    ]


def connect_clients(
    given: Mapping[str, Any],
    *,
    mapping: Mapping[int, Client],
    name: str = "NinjaOne",
    allowed_scripts: list[str] | None = None,
    is_production: bool = False,
    actor: Any = None,
) -> list[Connected]:
    """One NinjaOne connector per mapped Gaby client, limited to its organization(s), after checking them all."""
    conn = _connection(given)
    if not mapping:
        raise MappingError(f"Map at least one NinjaOne organization to a Gaby client, e.g. --map {EXAMPLE}.")
    known = organizations(conn)  # proves the credentials work before anything is created
    unknown = sorted(set(mapping) - set(known))
    if unknown:
        listed = ", ".join(f"{i} {n}" for i, n in sorted(known.items())) or "none"
        raise MappingError(
            f"NinjaOne has no organization {', '.join(map(str, unknown))} for this API client; "
            f"its organizations are: {listed}."
        )
    served, with_connector = existing(conn["url"])
    refused = [
        f"organization {org} ({known[org]}) already serves {served[org].name}"
        for org in sorted(mapping)
        if org in served
    ]
    refused += sorted(
        {
            f"{client.name} already has a NinjaOne connector"
            for client in mapping.values()
            if client.pk in with_connector
        }
    )
    if refused:
        raise MappingError(
            f"Nothing was connected: {'; '.join(refused)}. Leave those out of --map, or change the existing "
            "connector's organizations on the client's Connectors page."
        )
    per_client: dict[Any, tuple[Client, list[int]]] = {}
    for org, client in sorted(mapping.items()):
        per_client.setdefault(client.pk, (client, []))[1].append(org)
    connected: list[Connected] = []
    for client, orgs in per_client.values():
        draft = ninjaone_draft(name=name, organizations=orgs, allowed_scripts=allowed_scripts, **conn)
        with tenant_context(client):
            try:
                connector = services.connect(
                    client=client, draft=draft, actor=actor, operator=True, is_production=is_production
                )
            except (ValidationError, ConnectorError) as exc:
                reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
                made = ", ".join(item.client.name for item in connected) or "none"
                raise MappingError(
                    f"Connecting {client.name} failed, it has no NinjaOne connector: {reason}. "
                    f"Connected before that: {made}."
                ) from exc
            tools = connector.tools.count()
        connected.append(Connected(client, connector, {org: known[org] for org in orgs}, tools))
    return connected
