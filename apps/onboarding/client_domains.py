"""The email domains Gaby knows for each client, to recognise its Microsoft 365 tenant by the tenant's verified
domains (apps/connectors/m365_partner.py): its members' addresses (MSP staff left out: their domain is the MSP's,
shared by every client), the contacts its tickets came from, and the contacts its Admins authorized. Free mail
providers say nothing about which company someone works for and are left out."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django_tenants.utils import tenant_context

from apps.accounts.models import Membership
from apps.safety.identity import known_domains
from apps.safety.models import AuthorizedContact
from apps.safety.suspicion import FREE_MAIL
from tenants.models import Client


def _domain(email: str) -> str:
    return email.rpartition("@")[2].strip().lower()


def client_domains(clients: Iterable[Client]) -> dict[Any, set[str]]:
    """Client pk → the company email domains seen for it."""
    clients = list(clients)
    found: dict[Any, set[str]] = {client.pk: set() for client in clients}
    members = Membership.objects.filter(client__in=clients, user__is_msp_staff=False)
    for client_id, email in members.values_list("client_id", "user__email"):
        found[client_id].add(_domain(email))
    for client in clients:
        with tenant_context(client):
            found[client.pk].update(d.lower() for d in known_domains())
            found[client.pk].update(_domain(e) for e in AuthorizedContact.objects.values_list("email", flat=True))
    return {pk: {d for d in domains if d and d not in FREE_MAIL} for pk, domains in found.items()}
