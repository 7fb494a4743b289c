"""One Autotask connection, set up once by the MSP, feeding many Gaby clients: Autotask company → Gaby client.

The mechanism every PSA shares (apps/tickets/psa_mapping.py): for each mapped Autotask company, an Autotask source
in the chosen Gaby client's schema holding the same API user and integration code and that ``at_company_id``,
which filters every pull. Autotask sources are polled (by last activity), so no webhook secret is made.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from apps.tickets import psa_mapping
from apps.tickets.models import SourceKind
from apps.tickets.sources.autotask.adapter import AutotaskAdapter

__all__ = ["CONNECTION_KEYS", "LINK", "REQUIRED_KEYS", "at_companies"]

REQUIRED_KEYS = ("username", "secret", "integration_code")
CONNECTION_KEYS = (*REQUIRED_KEYS, "webservices_url")  # webservices_url: only to point at another host (a stand-in)


def at_companies(connection: Mapping[str, Any]) -> dict[int, str]:
    """Every active Autotask company the API user sees, id → name: what can be mapped."""
    return AutotaskAdapter(source_id="mapping", config={**connection, "at_company_id": "0"}).companies()


LINK = psa_mapping.PsaLink(
    kind=SourceKind.AUTOTASK,
    label="Autotask",
    company_key="at_company_id",
    connection_keys=CONNECTION_KEYS,
    required_keys=REQUIRED_KEYS,
    instance_key="username",  # an API user belongs to one Autotask database
    companies=lambda connection: at_companies(connection),
    example="174=hartwell",
    hook_key="",
    noun="company",
)
