"""The MSP's Microsoft 365 partner connection, kept (accounts.PartnerConnection, public schema): its tenant, app id,
sealed secret and endpoints, and what the last listing found — so a re-run needs no secret re-typed and says which
customer tenants appeared or went away since then, and when that was.

The secret is sealed under the install's key for this use alone (apps.core.secrets.seal_install): it spans every
client, so no client's data key may hold it. Each listing is an install-level audit event naming who listed and
what changed; the consent per client stays with each client's connector (its consent event, GOV-5).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from django.db import transaction
from django.utils import timezone

from apps.accounts.models import PartnerConnection
from apps.auditlog.audit import actor_of, record_for_install
from apps.connectors.m365_partner import Customer, Partner, PartnerError, partner_from
from apps.core.secrets import SecretError, seal_install, unseal_install

PURPOSE = "m365-partner"
ENDPOINTS = ("authority", "graph_url", "ca_file")


@dataclass(frozen=True)
class SinceLast:
    """What changed since the previous listing of this partner connection (nothing before its first)."""

    previous_at: datetime | None = None
    appeared: list[str] = field(default_factory=list)  # customer names newly listed
    gone: list[str] = field(default_factory=list)  # customer names listed last time, not now


def stored(tenant_id: str, client_id: str) -> PartnerConnection | None:
    return PartnerConnection.objects.filter(
        tenant_id__iexact=tenant_id.strip(), client_id__iexact=client_id.strip()
    ).first()


def latest() -> PartnerConnection | None:
    """The connection listed most recently (what the portal page offers to re-run)."""
    return PartnerConnection.objects.exclude(last_listed_at=None).first() or PartnerConnection.objects.first()


def partner_given(given: Mapping[str, Any]) -> Partner:
    """``partner_from`` with the kept secret (and endpoints) of this tenant and app when the form leaves them empty."""
    values = {key: given.get(key) for key in ("tenant_id", "client_id", "client_secret", *ENDPOINTS)}
    if not str(values.get("client_secret") or ""):
        kept = stored(str(values.get("tenant_id") or ""), str(values.get("client_id") or ""))
        if kept is None:
            raise PartnerError(
                "Give the client secret: no partner connection for this tenant and app is kept yet (it is kept "
                "after the first listing)."
            )
        try:
            values["client_secret"] = unseal_install(kept.sealed_secret, purpose=PURPOSE)
        except SecretError as exc:
            raise PartnerError(f"The kept partner secret cannot be read ({exc}): give it again.") from None
        for key in ENDPOINTS:
            values[key] = values.get(key) or kept.endpoints.get(key, "")
    return partner_from(values)


def _snapshot(customers: list[Customer]) -> list[dict[str, Any]]:
    return [
        {
            "tenant_id": c.tenant_id,
            "name": c.name,
            "domains": list(c.domains),
            "roles": None if c.roles is None else list(c.roles),
        }
        for c in customers
    ]


def remember(partner: Partner, customers: list[Customer], *, actor: Any) -> SinceLast:
    """Keep the partner connection and this listing; return what changed since the previous one."""
    now = timezone.now()
    with transaction.atomic():
        kept = stored(partner.tenant_id, partner.client_id)
        if kept is None:
            kept = PartnerConnection(tenant_id=partner.tenant_id, client_id=partner.client_id)
        before = {str(row.get("tenant_id")): str(row.get("name", "")) for row in kept.listed or []}
        since = SinceLast(
            previous_at=kept.last_listed_at,
            appeared=[c.name for c in customers if kept.last_listed_at and c.tenant_id not in before],
            gone=sorted(name for tenant, name in before.items() if tenant not in {c.tenant_id for c in customers}),
        )
        kept.sealed_secret = seal_install(partner.client_secret, purpose=PURPOSE)
        kept.endpoints = {key: getattr(partner, key) for key in ENDPOINTS if getattr(partner, key)}
        kept.listed = _snapshot(customers)
        kept.last_listed_at = now
        kept.last_listed_by = actor if getattr(actor, "pk", None) else None
        kept.save()
        record_for_install(
            event="connectors.m365_partner_listed",
            payload={
                "partner_tenant": partner.tenant_id,
                "app": partner.client_id,
                "customers": len(customers),
                "appeared": since.appeared,
                "gone": since.gone,
            },
            **actor_of(actor),
        )
    return since
