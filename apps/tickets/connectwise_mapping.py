"""One ConnectWise PSA connection, set up once by the MSP, feeding many Gaby clients: Manage company → Gaby client.

The mechanism every PSA shares (apps/tickets/psa_mapping.py): for each mapped Manage company, a ConnectWise source
in the chosen Gaby client's schema holding the same API member keys and clientId and that ``cw_company_id``,
which filters every pull and refuses other companies' tickets on callbacks. Each source gets its own callback
secret, carried in its callback URL (Manage cannot send a header of Gaby's choosing); ``register_callbacks``
asks Manage to post each company's ticket saves to its source's URL, so the whole set-up is one step.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.tickets import psa_mapping
from apps.tickets.models import SourceKind, TicketSource
from apps.tickets.psa_mapping import Connected, MappingError
from apps.tickets.sources.connectwise.adapter import ConnectWiseAdapter
from tenants.addresses import client_domain
from tenants.models import Client

__all__ = [
    "CONNECTION_KEYS",
    "LINK",
    "Connected",
    "MappingError",
    "callback_url",
    "cw_companies",
    "register_callbacks",
]

CONNECTION_KEYS = ("site_url", "company_id", "public_key", "private_key", "client_id")


def cw_companies(connection: Mapping[str, Any]) -> dict[int, str]:
    """Every active Manage company the API member sees, id → name: what can be mapped."""
    return ConnectWiseAdapter(source_id="mapping", config={**connection, "cw_company_id": "0"}).companies()


LINK = psa_mapping.PsaLink(
    kind=SourceKind.CONNECTWISE,
    label="ConnectWise",
    company_key="cw_company_id",
    connection_keys=CONNECTION_KEYS,
    required_keys=CONNECTION_KEYS,
    instance_key="site_url",
    companies=lambda connection: cw_companies(connection),
    example="250=hartwell",
    hook_key="callback_secret",
    noun="company",
)


def callback_url(client: Client, source: TicketSource, secret: str) -> str:
    """Where Manage posts this source's ticket callbacks: the secret is the URL's last segment."""
    return f"https://{client_domain(client.slug)}/api/v1/sources/{source.pk}/callback/connectwise/{secret}"


def register_callbacks(connection: Mapping[str, Any], made: list[Connected]) -> list[int]:
    """Register each new source's callback URL at Manage (``/system/callbacks``, level Company); their ids."""
    ids = []
    for item in made:
        config = {**connection, "cw_company_id": str(item.company_id)}
        adapter = ConnectWiseAdapter(source_id=str(item.source.pk), config=config)
        url = callback_url(item.client, item.source, item.secret)
        ids.append(adapter.register_callback(url, description=f"Gaby · {item.client.name}"))
    return ids
