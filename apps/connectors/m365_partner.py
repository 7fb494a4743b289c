"""Microsoft 365 as a partner (GDAP): the MSP's own tenant lists its customer tenants, each becomes one client's
connector (MSP-2). The MSP sets up one multi-tenant app registration, consented in each customer tenant.

The partner connection (the MSP's tenant id, the app's client id and secret) is used to list customers only:
``tenantRelationships/delegatedAdminCustomers`` (DelegatedAdminRelationship.Read.All) and ``contracts``
(Directory.Read.All, each customer's default domain), through msgraph-sdk like the connector itself
(apps/connectors/servers/microsoft365/client.py). Each customer's verified domains are then read in that customer
tenant (``/domains``, Domain.Read.All) with the same app — which also shows whether it was consented there.

A customer becomes an ordinary Microsoft 365 connector in one Gaby client's schema (its sealed secret under that
client's data key): the same app, that customer's tenant id, through ``services.connect`` (tested, tools listed,
the consent event naming the partner connection and who confirmed, GOV-5). Every client stands alone: one
customer failing never stops the others, and a tenant already served by a connector is never connected twice.
Which Gaby client a customer is suggested for is decided by its verified domains against the domains Gaby knows
for each client (given by the caller: they live in the tickets and accounts apps), then by name
(apps/connectors/client_mapping.py, shared with NinjaOne's organizations). Each customer's GDAP roles come with the
listing (apps/connectors/m365_gdap.py); the partner connection itself is kept by m365_partner_store.py.
"""

from __future__ import annotations

import asyncio
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django_tenants.utils import tenant_context
from kiota_abstractions.base_request_configuration import RequestConfiguration
from msgraph.generated.contracts.contracts_request_builder import ContractsRequestBuilder as ContractsRequest
from msgraph.generated.tenant_relationships.delegated_admin_customers.delegated_admin_customers_request_builder import (
    DelegatedAdminCustomersRequestBuilder as CustomersRequest,
)
from msgraph.generated.tenant_relationships.delegated_admin_relationships.delegated_admin_relationships_request_builder import (  # noqa: E501
    DelegatedAdminRelationshipsRequestBuilder as RelationshipsRequest,
)

from apps.connectors import client_mapping, services
from apps.connectors.calls import ConnectorError
from apps.connectors.m365_gdap import NEEDED_ROLES, roles_by_tenant
from apps.connectors.models import Connector, Kind
from apps.connectors.servers.microsoft365.client import (
    MICROSOFT_GRAPH,
    MICROSOFT_LOGIN,
    Graph,
    GraphFailure,
    Settings,
)
from apps.connectors.specs import Draft, microsoft365_draft
from tenants.models import Client

REQUIRED = ("tenant_id", "client_id", "client_secret")
CONNECTOR_NAME = "Microsoft 365"
MAX_CUSTOMERS = 5000
PAGE_SIZE = 100
PARALLEL_TENANTS = 8  # customer tenants read at once (domains): each is a token request and one Graph call
GUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
DOMAIN = re.compile(r"^(?=.{3,253}$)[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$")
EXAMPLE = "6b1c1e2a-3d4f-4a8b-9c0d-1e2f3a4b5c6d=hartwell"


class PartnerError(ValueError):
    """The partner connection or the mapping cannot be used as given; the message says what to change."""


@dataclass(frozen=True)
class Partner:
    """The MSP's partner connection: its own tenant and its multi-tenant app."""

    tenant_id: str
    client_id: str
    client_secret: str
    authority: str = ""  # empty: Microsoft's (login.microsoftonline.com); the stand-in and national clouds set it
    graph_url: str = ""
    ca_file: str = ""

    def settings(self, tenant_id: str) -> Settings:
        return Settings(
            tenant_id=tenant_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
            authority=self.authority or MICROSOFT_LOGIN,
            graph_url=self.graph_url or MICROSOFT_GRAPH,
            ca_file=self.ca_file,
            page_size=PAGE_SIZE,
        )

    def draft(self, customer: Customer, *, name: str) -> Draft:
        """The customer's connector: the same app, scoped to that customer's tenant."""
        return microsoft365_draft(
            name=name,
            tenant_id=customer.tenant_id,
            client_id=self.client_id,
            client_secret=self.client_secret,
            authority=self.authority,
            graph_url=self.graph_url,
            ca_file=self.ca_file,
        )

    def via(self, customer: Customer, actor: Any) -> dict[str, Any]:
        """What the consent event records of where this connector came from (GOV-5)."""
        return {
            "label": f"the Microsoft 365 partner connection (partner tenant {self.tenant_id})",
            "partner_tenant_id": self.tenant_id,
            "app_client_id": self.client_id,
            "customer_tenant_id": customer.tenant_id,
            "customer_name": customer.name,
            "confirmed_by": getattr(actor, "email", "") or "operator (command line)",
        }


def partner_from(given: Mapping[str, Any]) -> Partner:
    """A partner connection from a form or ``--config``; what is missing or malformed is named."""
    values = {key: str(given.get(key) or "").strip() for key in (*REQUIRED, "authority", "graph_url", "ca_file")}
    values["client_secret"] = str(given.get("client_secret") or "")  # a secret is taken as typed
    missing = [key for key in REQUIRED if not values[key].strip()]
    if missing:
        raise PartnerError(
            f"The partner connection needs {', '.join(missing)}: the MSP's own tenant id, and the client id and "
            "secret of its multi-tenant app registration."
        )
    if not GUID.match(values["client_id"]):
        raise PartnerError(
            f"client_id {values['client_id']!r} is not an Application (client) ID: copy the GUID from the app "
            "registration's Overview page in Entra ID."
        )
    if not GUID.match(values["tenant_id"]) and not DOMAIN.match(values["tenant_id"]):
        raise PartnerError(
            f"tenant_id {values['tenant_id']!r} is neither a tenant ID (a GUID) nor a domain: copy the Directory "
            "(tenant) ID of your partner tenant from Entra ID's Overview page."
        )
    if values["ca_file"] and not os.path.isfile(values["ca_file"]):
        raise PartnerError(f"ca_file {values['ca_file']} is not a file on the Gaby host.")
    for key in ("authority", "graph_url"):
        if values[key] and not values[key].startswith("https://"):
            raise PartnerError(f"{key} must be an https:// URL, or empty for Microsoft's own.")
        values[key] = values[key].rstrip("/")
    return Partner(**values)


@dataclass(frozen=True)
class Customer:
    tenant_id: str
    name: str
    domains: tuple[str, ...]  # verified domains, the default first
    problem: str = ""  # why its own tenant could not be read with the app (e.g. not consented there yet)
    # GDAP: the role names of the customer's active delegated-admin relationships; None when they could not be read
    roles: tuple[str, ...] | None = None

    @property
    def missing_roles(self) -> list[str]:
        """The roles the connector's tools need that no active relationship grants ([] when unknown)."""
        if self.roles is None or "Global Administrator" in self.roles:
            return []
        return [role for role in NEEDED_ROLES if role not in self.roles]

    @property
    def missing_roles_why(self) -> list[tuple[str, str]]:
        """Each missing role with what a technician cannot do without it."""
        return [(role, NEEDED_ROLES[role]) for role in self.missing_roles]


@dataclass(frozen=True)
class Served:
    """An existing Microsoft 365 connector: which client, which tenant, which app."""

    client: Client
    connector: str  # its name
    tenant_id: str
    client_id: str


@dataclass(frozen=True)
class Row:
    customer: Customer
    served_by: Served | None  # the connector that serves this tenant already
    suggestion: Client | None
    because: str  # why it is suggested: "domain hartwelllaw.com", "name", ""


@dataclass(frozen=True)
class Listing:
    rows: list[Row]
    vanished: list[Served]  # connectors made with this app whose tenant the partner no longer lists
    clients: list[Client] = field(default_factory=list)  # what a customer may be mapped to

    @property
    def new(self) -> list[Row]:
        return [row for row in self.rows if row.served_by is None]


@dataclass(frozen=True)
class Outcome:
    customer: Customer
    client: Client
    status: str  # "created", "already connected", "failed"
    reason: str = ""
    connector: Connector | None = None
    tools: int = 0


# --- reading the partner tenant ------------------------------------------------------------------
async def _collection(graph: Graph, builder: Any, params: Any, *, permission: str) -> list[Any]:
    """Every page of a collection (``$top`` per page, then each ``@odata.nextLink``)."""
    config = RequestConfiguration(query_parameters=params)
    first = await graph.call(lambda: builder.get(config), permission=permission)
    return await graph.pages(first, lambda url: builder.with_url(url).get(), limit=MAX_CUSTOMERS)


async def _partner_listing(partner: Partner) -> tuple[list[Any], dict[str, str], dict[str, tuple[str, ...]] | None]:
    graph = Graph(partner.settings(partner.tenant_id))
    try:
        customers = await _collection(
            graph,
            graph.client.tenant_relationships.delegated_admin_customers,
            CustomersRequest.DelegatedAdminCustomersRequestBuilderGetQueryParameters(top=PAGE_SIZE),
            permission="DelegatedAdminRelationship.Read.All",
        )
        try:
            contracts = await _collection(
                graph,
                graph.client.contracts,
                ContractsRequest.ContractsRequestBuilderGetQueryParameters(top=PAGE_SIZE),
                permission="Directory.Read.All",
            )
        except GraphFailure as exc:
            if exc.status != 403:
                raise
            contracts = []  # default domains are a help, not a need: each tenant's /domains says more
        try:
            relationships: list[Any] | None = await _collection(
                graph,
                graph.client.tenant_relationships.delegated_admin_relationships,
                RelationshipsRequest.DelegatedAdminRelationshipsRequestBuilderGetQueryParameters(top=PAGE_SIZE),
                permission="DelegatedAdminRelationship.Read.All",
            )
        except GraphFailure as exc:
            if exc.status not in (403, 404):
                raise
            relationships = None  # the roles are a warning, not a need: the listing goes on without them
    finally:
        await graph.close()
    defaults = {str(c.customer_id).lower(): c.default_domain_name or "" for c in contracts if c.customer_id}
    return customers, defaults, None if relationships is None else roles_by_tenant(relationships)


async def _verified_domains(partner: Partner, tenant_id: str, gate: asyncio.Semaphore) -> tuple[list[str], str]:
    """A customer tenant's verified domains, read with the app in that tenant; or why it could not."""
    async with gate:
        try:
            graph = Graph(partner.settings(tenant_id))
        except GraphFailure as exc:
            return [], str(exc)
        try:
            found = await graph.call(graph.client.domains.get, permission="Domain.Read.All")
            domains = [d for d in (found.value if found else None) or [] if d.is_verified]
            domains.sort(key=lambda d: (not d.is_default, d.id or ""))
            return [str(d.id).lower() for d in domains if d.id], ""
        except GraphFailure as exc:
            return [], str(exc)
        finally:
            await graph.close()


async def _customers(partner: Partner) -> list[Customer]:
    listed, defaults, roles = await _partner_listing(partner)
    gate = asyncio.Semaphore(PARALLEL_TENANTS)
    rows = [(str(c.tenant_id or c.id or "").lower(), str(c.display_name or "")) for c in listed]
    rows = [(tenant, name) for tenant, name in rows if tenant]
    read = await asyncio.gather(*(_verified_domains(partner, tenant, gate) for tenant, _ in rows))
    customers = []
    for (tenant, name), (domains, problem) in zip(rows, read, strict=True):
        default = defaults.get(tenant, "").lower()
        ordered = [default] if default else []
        ordered += [domain for domain in domains if domain != default]
        granted = None if roles is None else roles.get(tenant, ())
        customers.append(Customer(tenant, name or default or tenant, tuple(ordered), problem, granted))
    return sorted(customers, key=lambda c: c.name.lower())


def customers(partner: Partner) -> list[Customer]:
    """The partner's customer tenants; proves the partner credentials work (PartnerError otherwise)."""
    try:
        return asyncio.run(_customers(partner))
    except GraphFailure as exc:
        raise PartnerError(f"Could not list the partner's customers: {exc}") from None


# --- what Gaby has already ---------------------------------------------------------------------
def existing() -> list[Served]:
    """Every Microsoft 365 connector of every client (a paused client's too: it still holds its tenant)."""
    return [
        Served(
            client,
            connector.name,
            str(settings.get("tenant_id", "")).strip().lower(),
            str(settings.get("client_id", "")).lower(),
        )
        for client, connector, settings in client_mapping.connectors_of(Kind.MICROSOFT365)
    ]


def _serving(customer: Customer, served: list[Served]) -> Served | None:
    """The connector for this tenant, named by its id or by one of its verified domains."""
    keys = {customer.tenant_id, *customer.domains}
    return next((item for item in served if item.tenant_id in keys), None)


def suggest(
    customer: Customer, clients: list[Client], client_domains: Mapping[Any, Iterable[str]]
) -> tuple[Client | None, str]:
    """The Gaby client sharing the most verified domains with the customer (none on a tie), else the best name."""
    verified = set(customer.domains)
    scored = sorted(
        ((len(verified & {d.lower() for d in client_domains.get(c.pk, ())}), c) for c in clients),
        key=lambda pair: -pair[0],
    )
    if scored and scored[0][0] and (len(scored) == 1 or scored[0][0] > scored[1][0]):
        best = scored[0][1]
        shared = sorted(verified & {d.lower() for d in client_domains.get(best.pk, ())})
        return best, f"domain {', '.join(shared)}"
    if scored and scored[0][0]:
        return None, ""  # two clients claim the same domain: a person decides
    by_name = client_mapping.suggest_by_name(customer.name, clients, client_mapping.routing_domains(clients))
    return by_name, "name" if by_name else ""


def listing(partner: Partner, *, client_domains: Mapping[Any, Iterable[str]]) -> Listing:
    """Each customer tenant with the connector serving it or the suggested client; and the vanished ones."""
    found = customers(partner)
    clients = client_mapping.clients()
    served = existing()
    rows = []
    for customer in found:
        serving = _serving(customer, served)
        suggestion, because = (None, "") if serving else suggest(customer, clients, client_domains)
        rows.append(Row(customer, serving, suggestion, because))
    listed = {key for c in found for key in (c.tenant_id, *c.domains)}
    vanished = [s for s in served if s.client_id == partner.client_id.lower() and s.tenant_id not in listed]
    return Listing(rows, vanished, clients)


# --- connecting --------------------------------------------------------------------------------
def _name_for(client: Client, customer: Customer, served: list[Served]) -> str:
    taken = {item.connector for item in served if item.client.pk == client.pk}
    return CONNECTOR_NAME if CONNECTOR_NAME not in taken else f"{CONNECTOR_NAME} ({customer.name})"[:200]


def connect_clients(
    partner: Partner,
    *,
    mapping: Mapping[str, Client],
    actor: Any = None,
    is_production: bool = False,
) -> list[Outcome]:
    """One Microsoft 365 connector per mapped customer tenant, in its Gaby client; each client on its own."""
    if not mapping:
        raise PartnerError(f"Map at least one customer tenant to a Gaby client, e.g. --map {EXAMPLE}.")
    wanted = {tenant.strip().lower(): client for tenant, client in mapping.items()}
    twice = sorted({c.name for c in wanted.values() if sum(o.pk == c.pk for o in wanted.values()) > 1})
    if twice:
        raise PartnerError(f"{', '.join(twice)} is mapped to more than one customer tenant: one tenant per client.")
    found = {c.tenant_id: c for c in customers(partner)}  # the partner credentials work before anything is made
    unknown = sorted(set(wanted) - set(found))
    if unknown:
        listed = ", ".join(f"{c.tenant_id} ({c.name})" for c in found.values()) or "none"
        raise PartnerError(
            f"The partner does not list customer tenant {', '.join(unknown)}; its customers are: {listed}."
        )
    served = existing()
    outcomes: list[Outcome] = []
    for tenant_id, client in sorted(wanted.items(), key=lambda item: item[1].name):
        customer = found[tenant_id]
        outcome = _connect_one(partner, customer, client, served, actor=actor, is_production=is_production)
        if outcome.status == "created":
            served.append(Served(client, outcome.connector.name if outcome.connector else "", tenant_id, ""))
        outcomes.append(outcome)
    return outcomes


def _connect_one(
    partner: Partner, customer: Customer, client: Client, served: list[Served], *, actor: Any, is_production: bool
) -> Outcome:
    serving = _serving(customer, served)
    if serving is not None and serving.client.pk == client.pk:
        return Outcome(customer, client, "already connected", f"its connector {serving.connector} serves this tenant")
    if serving is not None:
        return Outcome(customer, client, "failed", f"this tenant is already connected to {serving.client.name}")
    if not client.is_active:
        return Outcome(customer, client, "failed", f"{client.name} is paused")
    draft = partner.draft(customer, name=_name_for(client, customer, served))
    with tenant_context(client):
        try:
            connector = services.connect(
                client=client,
                draft=draft,
                actor=actor,
                operator=actor is None,  # the command line is the operator; a person on the portal is MSP staff
                is_production=is_production,
                via=partner.via(customer, actor),
            )
        except (ValidationError, ConnectorError) as exc:
            reason = "; ".join(exc.messages) if isinstance(exc, ValidationError) else str(exc)
            return Outcome(customer, client, "failed", reason)
        tools = connector.tools.count()
    return Outcome(customer, client, "created", connector=connector, tools=tools)
