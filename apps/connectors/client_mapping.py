"""What a vendor's multi-client connect (Microsoft 365 partner tenants, NinjaOne organizations) needs to map a
vendor-side customer onto a Gaby client: the clients, each client's routing domains, the client whose name best
matches a customer's name, and the connectors of one kind every client already has (with their settings).

One place, so the two flows suggest the same client for the same company and read the existing connectors alike.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from django_tenants.utils import tenant_context

from apps.connectors.drafts import draft_of
from apps.connectors.models import Connector
from tenants.models import Client, Domain

SUGGEST_FLOOR = 0.6  # below this, no client is suggested rather than a wrong one
# Words that say what kind of company it is, not which one: "Hartwell Law" and "Hartwell LLC" are both Hartwell.
GENERIC = frozenset({"the", "and", "inc", "llc", "ltd", "gmbh", "sa", "sas", "co", "corp", "company", "group"})


def clients(*, active_only: bool = True) -> list[Client]:
    """Every Gaby client by name (a paused one too when ``active_only`` is false: it still holds its connectors)."""
    found = Client.objects.exclude(schema_name="public").order_by("name")
    return list(found.filter(is_active=True) if active_only else found)


def routing_domains(of: Iterable[Client]) -> dict[Any, list[str]]:
    """Each client's routing domains (``hartwell.gaby.example``), by client pk."""
    domains: dict[Any, list[str]] = {}
    for tenant_id, domain in Domain.objects.filter(tenant__in=list(of)).values_list("tenant_id", "domain"):
        domains.setdefault(tenant_id, []).append(domain)
    return domains


def connectors_of(kind: str) -> Iterator[tuple[Client, Connector, dict[str, Any]]]:
    """Every connector of ``kind`` of every client (paused ones included), with its settings."""
    for client in clients(active_only=False):
        with tenant_context(client):
            for connector in Connector.objects.filter(kind=kind).order_by("name"):
                yield client, connector, draft_of(connector, client).settings


def _words(text: str) -> list[str]:
    return [word for word in re.findall(r"[a-z0-9]+", text.lower()) if word not in GENERIC]


def _names_of(client: Client, domains: list[str]) -> list[str]:
    """What a client is called: its name, its slug, and the first label of each of its domains."""
    return [client.name, client.slug.replace("-", " "), *(domain.split(".")[0] for domain in domains)]


def _likeness(organization: str, name: str) -> float:
    """How alike two company names are, 0..1: the whole names, or one distinctive word they share."""
    left, right = _words(organization), _words(name)
    if not left or not right:
        return 0.0
    score = difflib.SequenceMatcher(None, " ".join(left), " ".join(right)).ratio()
    if {word for word in left if len(word) >= 3} & {word for word in right if len(word) >= 3}:
        score = max(score, 0.8)
    return score


def suggest_by_name(name: str, candidates: list[Client], domains: Mapping[Any, list[str]]) -> Client | None:
    """The Gaby client whose name, slug or domain best matches a vendor-side company name, if any matches well."""
    best, best_score = None, SUGGEST_FLOOR
    for client in candidates:
        score = max(_likeness(name, own) for own in _names_of(client, domains.get(client.pk, [])))
        if score > best_score:
            best, best_score = client, score
    return best
