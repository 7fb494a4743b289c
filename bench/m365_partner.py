"""Microsoft 365 partner (GDAP) connect of N customers, each figure next to a floor measured in the same run.

Against the Graph stand-in (HTTPS) with a partner tenant whose N customer tenants each consent the partner's app,
and N Gaby clients (created once, their Microsoft 365 connectors removed before each run).

- Listing: ``m365_partner.listing`` (partner token, customers and contracts through msgraph-sdk, then each
  customer's verified domains in its own tenant, 8 at a time, then every client's connectors). Floor: the one
  request that lists the customers, with ``httpx`` on a kept-alive TLS connection and a token already in hand.
  The first listing in the process also imports msgraph-sdk; the figure is the second.
- Connect: ``m365_partner.connect_clients`` for the N customers (each connector tested: its MCP server started,
  its tools listed). Floor: the same N connectors made client by client through ``services.connect`` — what
  ``gaby connect microsoft365 --client …`` does once per client today, without the typing.
- Re-run: ``connect_clients`` again with the same mapping (every tenant already connected: nothing made).

    .venv/bin/python bench/m365_partner.py [--customers 5]
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench._server import setup_django

os.environ.setdefault("GABY_OUTBOUND_ALLOW", "127.0.0.0/8")  # the stand-in listens on loopback


def seed(customers: int) -> dict[str, Any]:
    from sandbox.msgraph_partner import BLUE_MESA, PARTNER_APP_ID, PARTNER_ROLES, PARTNER_SECRET

    tenants: list[dict[str, Any]] = [
        {
            "name": f"M365 Bench Customer {c}",
            "domains": [f"m365bench{c}.example", f"m365bench{c}.onmicrosoft.com"],
            "apps": {PARTNER_APP_ID: {"home": BLUE_MESA}},
            "users": [{"userPrincipalName": f"user@m365bench{c}.example", "displayName": f"User {c}"}],
        }
        for c in range(customers)
    ]
    from sandbox.msgraph_data import build_tenant

    ids = [build_tenant(raw).id for raw in tenants]
    partner = {
        "id": BLUE_MESA,
        "name": "Blue Mesa IT",
        "domains": ["bluemesa.example"],
        "apps": {PARTNER_APP_ID: {"secret": PARTNER_SECRET, "roles": PARTNER_ROLES}},
        "customers": ids,
    }
    return {"tenants": [partner, *tenants]}


def fresh_clients(count: int) -> list[Any]:
    from django_tenants.utils import tenant_context

    from apps.connectors.models import Connector, Kind
    from tenants.models import Client
    from tenants.services import create_client, ensure_public_tenant

    ensure_public_tenant()
    clients = []
    for c in range(count):
        slug = f"m365bench{c}"
        client = Client.objects.filter(slug=slug).first() or create_client(name=f"M365 Bench Customer {c}", slug=slug)
        with tenant_context(client):
            Connector.objects.filter(kind=Kind.MICROSOFT365).delete()
        clients.append(client)
    return clients


def floor_listing(graph: Any, given: dict[str, str], *, rounds: int = 20) -> float:
    """Seconds for one bare request listing the customers (token in hand, connection kept alive), best of rounds."""
    token = httpx.post(
        f"{graph.base_url}/{given['tenant_id']}/oauth2/v2.0/token",
        data={
            "grant_type": "client_credentials",
            "client_id": given["client_id"],
            "client_secret": given["client_secret"],
            "scope": f"{graph.base_url}/.default",
        },
        verify=graph.ca_file,
    ).json()["access_token"]
    best = float("inf")
    with httpx.Client(verify=graph.ca_file, headers={"Authorization": f"Bearer {token}"}) as http:
        for _ in range(rounds):
            started = time.perf_counter()
            http.get(f"{graph.base_url}/v1.0/tenantRelationships/delegatedAdminCustomers").raise_for_status()
            best = min(best, time.perf_counter() - started)
    return best


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--customers", type=int, default=5)
    args = parser.parse_args()
    setup_django()
    from django_tenants.utils import tenant_context

    from apps.connectors import m365_partner, services
    from apps.connectors.models import Connector, Kind
    from sandbox.msgraph import GraphSandbox
    from sandbox.msgraph_partner import partner_connection

    clients = fresh_clients(args.customers)
    with GraphSandbox(seed(args.customers)) as graph:
        given = partner_connection(graph)
        partner = m365_partner.partner_from(given)
        floor_list = floor_listing(graph, given)
        started = time.perf_counter()
        m365_partner.listing(partner, client_domains={})  # the first in the process imports msgraph-sdk
        cold_s = time.perf_counter() - started
        started = time.perf_counter()
        listed = m365_partner.listing(partner, client_domains={})
        listing_s = time.perf_counter() - started
        assert len(listed.rows) == args.customers and all(not r.customer.problem for r in listed.rows)
        mapping = {row.customer.tenant_id: clients[int(row.customer.name.rsplit(" ", 1)[1])] for row in listed.rows}

        started = time.perf_counter()  # floor: the same connectors, client by client
        for tenant_id, client in mapping.items():
            customer = next(r.customer for r in listed.rows if r.customer.tenant_id == tenant_id)
            with tenant_context(client):
                services.connect(
                    client=client, draft=partner.draft(customer, name="Microsoft 365"), actor=None, operator=True
                )
        by_hand_s = time.perf_counter() - started
        for client in clients:
            with tenant_context(client):
                Connector.objects.filter(kind=Kind.MICROSOFT365).delete()

        started = time.perf_counter()
        outcomes = m365_partner.connect_clients(partner, mapping=mapping)
        connect_s = time.perf_counter() - started
        assert [o.status for o in outcomes] == ["created"] * args.customers, outcomes
        started = time.perf_counter()
        again = m365_partner.connect_clients(partner, mapping=mapping)
        rerun_s = time.perf_counter() - started
        assert [o.status for o in again] == ["already connected"] * args.customers

    n = args.customers
    print(f"Microsoft 365 partner connect, {n} customer tenants (Graph stand-in over HTTPS, real msgraph-sdk)")
    print(f"  list customers + verified domains  {listing_s * 1000:8.0f} ms   (first in the process: {cold_s:.1f} s)")
    print(f"  floor: one bare list request       {floor_list * 1000:8.1f} ms")
    print(f"  connect {n} clients (partner)        {connect_s:8.2f} s    ({connect_s / n:.2f} s per client)")
    print(f"  floor: {n} x services.connect by hand {by_hand_s:8.2f} s    ({by_hand_s / n:.2f} s per client)")
    print(f"  re-run, all already connected       {rerun_s:8.2f} s    (nothing created)")


if __name__ == "__main__":
    main()
