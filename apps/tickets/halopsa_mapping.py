"""One HaloPSA connection, set up once by the MSP, feeding many Gaby clients: Halo client (company) → Gaby client.

The mechanism is the one every PSA shares (apps/tickets/psa_mapping.py): for each mapped Halo client, a HaloPSA
source in the chosen Gaby client's schema holding the same API application and that ``halo_client_id``, which
filters every pull and refuses other companies' tickets on webhooks. All of them share one bearer token
(apps/tickets/sources/halopsa/auth.py).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.tickets import psa_mapping
from apps.tickets.models import SourceKind
from apps.tickets.psa_mapping import MappingError
from apps.tickets.sources.halopsa.adapter import HaloPSAAdapter

__all__ = ["CONNECTION_KEYS", "LINK", "MappingError", "halo_clients"]

CONNECTION_KEYS = ("base_url", "auth_url", "tenant", "client_id", "client_secret")


def halo_clients(connection: Mapping[str, Any]) -> dict[int, str]:
    """Every Halo client (company) the API application sees, id → name: what can be mapped."""
    return HaloPSAAdapter(source_id="mapping", config={**connection, "halo_client_id": "0"}).companies()


LINK = psa_mapping.PsaLink(
    kind=SourceKind.HALOPSA,
    label="Halo",
    company_key="halo_client_id",
    connection_keys=CONNECTION_KEYS,
    required_keys=("base_url", "client_id", "client_secret"),
    instance_key="base_url",
    companies=lambda connection: halo_clients(connection),  # late-bound: tests may replace halo_clients
    example="12=hartwell",
    hook_key="webhook_secret",
)
